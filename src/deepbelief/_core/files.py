"""Files that appear whole or not at all, made under names no one else can take over.

Every file and folder deepbelief makes for a write is created exclusively (``O_EXCL``, and
``O_NOFOLLOW``) under a random name, so a symlink or a file planted at a name it will use is
never followed or truncated; the kernel applies the umask as for any new file. A temporary
file is named ``.NAME.deepbelief-XXXXXXXX.tmp`` beside ``NAME``: the one form a write killed
half-way leaves, which ``remove_temporaries`` recognises.
"""

import contextlib
import errno
import json
import os
import re
import secrets
from pathlib import Path

# What a full disk (or a full quota) looks like to a write.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TOKEN = "[a-z0-9_]{8}"  # what random_token gives
_TEMPORARY = re.compile(rf"\.(?P<name>.+)\.deepbelief-{_TOKEN}\.tmp")
# Make the file now or fail: never open what is there.
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def random_token(n=8):
    """``n`` random characters from ``[a-z0-9_]``, from the operating system's generator."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def make_new(folder, prefix, suffix, make):
    """Call ``make(path)`` on fresh random names ``folder/PREFIX + 8 characters + SUFFIX`` until
    one is free; ``make`` must fail with ``FileExistsError`` where anything is (``os.mkdir``,
    ``os.open`` with ``NEW_FILE``), symlinks included.

    Returns
    -------
    path : Path
    made : what ``make`` returned
    """
    for _ in range(100):
        path = Path(folder) / f"{prefix}{random_token()}{suffix}"
        try:
            return path, make(path)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(Path(folder) / f"{prefix}*{suffix}"))


def atomic_write_bytes(path, data):
    """Write ``data`` to a new temporary file beside ``path``, flush it to disk, then rename.

    The rename replaces whatever is at ``path``, a symlink included (its target is untouched).
    If the write fails, nothing is left: neither the temporary file nor the folders made for
    it. A full disk raises ``OSError(ENOSPC)`` naming ``path`` (not the temporary file).

    Parameters
    ----------
    path : str or Path
    data : bytes

    Returns
    -------
    path : Path
    """
    path = Path(path)
    made = make_folders(path.parent)
    tmp = None
    try:
        tmp, fd = make_new(path.parent, f".{path.name}.deepbelief-", ".tmp",
                           lambda p: os.open(p, NEW_FILE, 0o666))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _sync_folder(path.parent)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        remove_empty_folders(made)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
        raise
    return path


def _sync_folder(folder):
    """Flush a rename to disk, so a power cut keeps the new file or the old one (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # a file system that cannot sync folders
        pass
    finally:
        os.close(fd)


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def remove_temporaries(folder, names):
    """Remove the temporary files that writes of ``names`` into ``folder`` left when killed.

    Only regular files named ``.NAME.deepbelief-XXXXXXXX.tmp`` for a NAME in ``names`` go:
    the caller proves ``names`` are its own (listed in its manifest, under its lock); anything
    else (``notes.tmp``, another program's ``.NAME.XXXX.tmp``) stays.

    Returns
    -------
    removed : list of str
        The names removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # not there (yet)
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match and match["name"] in names and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return sorted(removed)


def make_folders(folder):
    """Make ``folder`` and any missing parents.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    made : list of Path
        The folders made, deepest first (for ``remove_empty_folders`` if what follows fails).
    """
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    made = []
    try:
        for f in reversed(missing):
            try:
                f.mkdir()
            except FileExistsError:  # made meanwhile by someone else: theirs, not ours
                if not f.is_dir():
                    raise
                continue
            made.insert(0, f)
    except BaseException:
        remove_empty_folders(made)
        raise
    return made


def remove_empty_folders(folders):
    """Remove each of ``folders`` that is empty; leave the others.

    Parameters
    ----------
    folders : list of Path
        Deepest first, as ``make_folders`` returns them.
    """
    for folder in folders:
        try:
            Path(folder).rmdir()
        except OSError:  # not empty (someone put something there), or gone already
            pass
