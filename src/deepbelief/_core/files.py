"""Files that appear whole or not at all: atomic writes of bytes and JSON."""

import errno
import json
import os
import tempfile
from pathlib import Path

# What a full disk (or a full quota) looks like to a write.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def atomic_write_bytes(path, data):
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename.

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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        remove_empty_folders(made)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
        raise
    return path


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


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


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
