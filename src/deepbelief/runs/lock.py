"""One process at a time per run folder: an OS lock on a small file beside the folder.

The lock is ``flock`` on ``.NAME.lock`` next to the folder ``NAME``, so it exists before the
folder does and is never among the run's files. The operating system drops it when its
process ends, however it ends: a lock file left by a killed process locks nothing and is
reused. The file holds who has the lock (pid, start time, command), for the message the
next process gets.

The lock file is created exclusively and never followed: a symlink, a folder, a file with
other links, or a file that does not hold a lock's contents at that name stops the run with
an error naming it, and is left as it is.
"""

import datetime
import errno
import fcntl
import json
import os
import stat
import sys
from pathlib import Path

_OPEN = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)  # NONBLOCK: a FIFO


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

        Raises
        ------
        BlockingIOError
            Another process holds the lock.
        FileExistsError
            Something that is not a deepbelief lock file is at the lock file's name (a
            symlink, a folder, a file of yours); it is left untouched.
        """
        while True:
            fd = self._open()
            if fd is None:  # removed between our looking and our opening: look again
                continue
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

    def _open(self):
        """A descriptor of the lock file, made now or left by a killed run; None if it vanished."""
        try:
            return os.open(self.path, os.O_CREAT | os.O_EXCL | _OPEN, 0o666)
        except FileExistsError:
            pass
        try:
            seen = os.lstat(self.path)  # look before opening: opening a device can do things
            if stat.S_ISLNK(seen.st_mode):
                raise self._not_ours("is a symbolic link")
            if not stat.S_ISREG(seen.st_mode):
                raise self._not_ours("is not a regular file")
            fd = os.open(self.path, _OPEN)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # swapped for a symlink since we looked
                raise self._not_ours("is a symbolic link") from None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise self._not_ours("is not a regular file")
            if info.st_nlink != 1:  # a hard link to a file elsewhere, which _write_holder would empty
                raise self._not_ours(f"has {info.st_nlink} hard links")
            if not _holds_a_lock(fd):
                raise self._not_ours("holds something other than a lock")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _not_ours(self, what):
        return FileExistsError(
            f"{self.path} {what}, not a lock file deepbelief made: it locks the run folder "
            f"{self.folder} with a file of its own by that name, and never follows or changes "
            "one it did not make. Move it away, or choose another run folder (--out)."
        )

    def release(self):
        """Let go of the lock and remove its file (a no-op if not held).

        Returns
        -------
        None
        """
        if self._fd is None:
            return
        try:
            if _same_file(self._fd, self.path):  # while still holding it: see acquire()
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _same_file(fd, path):
    try:
        on_disk = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _holds_a_lock(fd):
    """Whether a lock file deepbelief made could hold this: nothing yet, or a holder's JSON."""
    try:
        text = os.pread(fd, 4097, 0)
    except OSError:
        return False
    if not text.strip():  # made by a process that has not written its name yet
        return True
    try:
        info = json.loads(text.decode())
    except ValueError:  # UnicodeDecodeError included
        return False
    return isinstance(info, dict) and set(info) == {"pid", "started", "command"}


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
