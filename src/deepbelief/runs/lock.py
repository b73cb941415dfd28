"""One process at a time per run folder: an OS lock on a small file beside the folder.

The lock is ``flock`` on ``.NAME.lock`` next to the folder ``NAME``, so it exists before the
folder does and is never among the run's files. The operating system drops it when its
process ends, however it ends: a lock file left by a killed process locks nothing and is
reused. The file holds who has the lock (pid, start time, command), for the message the
next process gets.
"""

import datetime
import fcntl
import json
import os
import sys
from pathlib import Path


def lock_path(folder):
    """The lock file of ``folder``: ``.NAME.lock`` beside it.

    Parameters
    ----------
    folder : str or Path
        A run folder; symlinks are resolved, so two spellings of one folder share one lock.

    Returns
    -------
    path : Path
    """
    folder = Path(folder).resolve()
    return folder.parent / f".{folder.name}.lock"


class FolderLock:
    """An exclusive lock on a run folder, held from ``acquire()`` to ``release()``.

    Parameters
    ----------
    folder : str or Path
        The run folder (it need not exist yet; its parent must).
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = lock_path(folder)
        self._fd = None

    def acquire(self):
        """Take the lock at once, or raise ``BlockingIOError`` naming the process that has it.

        Returns
        -------
        self : FolderLock
        """
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd, self.path)
                os.close(fd)
                raise BlockingIOError(
                    f"{self.folder} is in use by another deepbelief process ({holder}): wait "
                    "for it to finish, or choose another run folder (--out)."
                ) from None
            except BaseException:
                os.close(fd)
                raise
            # The holder before us removes the file when it lets go: if that happened between
            # our open and our flock, we hold a lock on a removed file, so start again.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        self._fd = fd
        _write_holder(fd)
        return self

    def release(self):
        """Let go of the lock and remove its file (a no-op if not held).

        Returns
        -------
        None
        """
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it: see acquire()
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _same_file(fd, path):
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _write_holder(fd):
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    argv = sys.argv or ["python"]
    program = os.path.basename(argv[0])
    if program == "__main__.py":  # python -m package
        program = f"python -m {os.path.basename(os.path.dirname(argv[0]))}"
    command = " ".join([program, *argv[1:]])
    text = json.dumps({"pid": os.getpid(), "started": started, "command": command[:300]})
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode() + b"\n", 0)
    except OSError:  # a full disk: the lock holds all the same, only unnamed
        pass


def _read_holder(fd, path):
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        return f"pid {info['pid']}, started {info['started']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):  # being written this instant
        return f"see its lock file {path}"
