"""Run folders that appear whole or not at all."""

import contextlib
import shutil
import tempfile
from pathlib import Path

from .._core.files import umask


@contextlib.contextmanager
def staged_dir(out_dir, overwrite=False):
    """Yield a temporary folder beside ``out_dir``; on success it becomes ``out_dir``.

    If the body raises (or is interrupted), the temporary folder is removed and whatever was at
    ``out_dir`` before is untouched. An existing non-empty ``out_dir`` is an error unless
    ``overwrite`` is true, in which case it is replaced only once the new run is complete.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; give a folder for the run.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty: pass --overwrite or choose another --out.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    tmp.chmod(0o777 & ~umask())  # mkdtemp makes 0700; a run folder is as readable as any
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
