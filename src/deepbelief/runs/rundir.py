"""Run folders that lose nothing: a run replaces only the files it wrote, and only on success.

A run folder lists the files deepbelief wrote into it in ``.deepbelief-run.json``; anything
else in it (your notes, a ``plots/`` folder made by ``deepbelief plot``) is yours and is never
moved, replaced or removed. ``run_folder`` is the one way runs write such a folder:

- it locks the folder for the whole run (``lock.py``): a second run into it fails at once;
- the run writes its files into ``staging``, a temporary folder beside the run folder;
- on success they move in, and the files the previous run had written that this one did not
  write move out; with every move undone if one fails;
- on failure (a full disk, bad data, a diverging model) the folder is exactly as it was, and a
  folder that did not exist is not left behind, nor the parent folders made for it;
- on Ctrl-C or a full disk the checkpoints written so far (``write_in_place``) stay, so the
  run resumes.

It never follows a symlink it did not make, and removes only what it can prove it made: the
lock file (``lock.py``) and the staging folder are created exclusively under names no one else
can take over; a staging folder holds a marker (``.deepbelief-staging.json``) written as it is
made, and a killed run's staging folder is removed only if it holds that marker; a write
killed half-way leaves ``.NAME.deepbelief-XXXXXXXX.tmp``, removed only for a NAME the manifest
lists. A symlink or a folder at the name of ``.deepbelief-run.json`` or of a checkpoint stops
the run before it starts.
"""

import contextlib
import json
import os
import re
import shutil
import socket
import stat
from pathlib import Path

from .._core.files import (
    DISK_FULL,
    NEW_FILE,
    make_folders,
    make_new,
    remove_empty_folders,
    remove_temporaries,
    write_json,
)
from .._version import __version__
from .lock import FolderLock

MANIFEST = ".deepbelief-run.json"
MODES = ("new", "replace", "add")
STAGING_MARKER = ".deepbelief-staging.json"  # in every staging folder, from its first instant
_BEFORE, _REPLACED = ".before", ".replaced"  # inside the staging folder too
_STAGING_NAME = re.compile(r"[a-z0-9_]{8}\.partial")  # what make_new adds to ".NAME."


@contextlib.contextmanager
def run_folder(out_dir, mode="new", replaceable=()):
    """Write a run folder safely: yields a :class:`RunFolder` whose ``staging`` folder the run
    writes into; its files move into ``out_dir`` when the ``with`` block ends without error.

    Parameters
    ----------
    out_dir : str or Path
        The run folder. It may exist; its parent folders are made if missing (and removed
        again if the run fails).
    mode : {"new", "replace", "add"}, default="new"
        "new": ``out_dir`` must be missing or empty (a ``FileExistsError`` otherwise, before
        anything is done). "replace": the run replaces the one in ``out_dir``: files the earlier
        run wrote are replaced, or removed if this run does not write them again. "add":
        files are added, replacing same-named ones; nothing is removed or recorded (``plot``,
        ``evaluate --out``). In every mode files deepbelief did not write stay as they are.
    replaceable : tuple of str, default=()
        The names the run writes in place (``write_in_place``). Mode "new": an existing
        folder may hold them all the same if its manifest lists them (an interrupted run's
        checkpoint, which the new run replaces). Modes "new" and "replace": a symlink (or a
        folder) at one of these names stops the run before it starts.

    Yields
    ------
    run : RunFolder

    Raises
    ------
    FileExistsError
        Mode "new" and ``out_dir`` holds files.
    NotADirectoryError
        ``out_dir`` is a file.
    BlockingIOError
        Another process is writing ``out_dir``; the message names it.
    FileExistsError
        Something deepbelief did not make is where it writes its own files: a symlink or a
        folder at the lock file ``.NAME.lock`` beside ``out_dir`` (or a file there that is
        not a lock), at ``.deepbelief-run.json`` or at a ``replaceable`` name. It is left as
        it is.
    OSError
        The disk is full (``errno`` ENOSPC): the message says which file and that nothing
        was left behind (or that ``out_dir`` is as it was), or which checkpoints written so
        far are kept to resume from.
    """
    run = RunFolder(out_dir, mode, replaceable)
    try:
        run._open()
        kept = False
        try:
            yield run
            run._commit()
            kept = True
        except KeyboardInterrupt:
            kept = run._keep_in_place()
            raise
        except BaseException as exc:
            if isinstance(exc, OSError) and exc.errno in DISK_FULL:
                kept = run._keep_in_place()
            else:
                run._roll_back()
            raise
        finally:
            run._close(keep_folders=kept)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise run._disk_full(exc) from exc
        raise


@contextlib.contextmanager
def staged_dir(out_dir, overwrite=False):
    """Yield a temporary folder whose files move into ``out_dir`` once the block succeeds.

    The simple face of :func:`run_folder` (mode "new", or "replace" with ``overwrite``): the
    folder is locked meanwhile, files deepbelief did not write there are kept, and a failed
    block leaves ``out_dir`` as it was.

    Parameters
    ----------
    out_dir : str or Path
    overwrite : bool, default=False
        Replace the run in a non-empty ``out_dir`` instead of raising ``FileExistsError``.

    Yields
    ------
    staging : Path
    """
    with run_folder(out_dir, mode="replace" if overwrite else "new") as run:
        yield run.staging


class RunFolder:
    """A run folder being written, as ``run_folder`` yields it.

    Parameters
    ----------
    out_dir : str or Path
    mode : {"new", "replace", "add"}
    replaceable : tuple of str

    Attributes
    ----------
    path : Path
        The run folder as given.
    staging : Path
        Where the run writes its files; they move into ``path`` when the run succeeds.
    existed : bool
        Whether ``path`` existed when the run started.
    recorded : set of str
        The files the previous run in ``path`` wrote (from its ``.deepbelief-run.json``).
    """

    def __init__(self, out_dir, mode="new", replaceable=()):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
        self.path = Path(out_dir)
        self.mode = mode
        self.replaceable = frozenset(replaceable)
        self._real = self.path.resolve()  # every file operation goes here; messages use path
        self.staging = None
        self.existed = False
        self.recorded = set()
        self._made = []  # folders made for the run, deepest first
        self._lock = None
        self._touched = {}  # name -> whether it existed: files changed in place, the manifest
        self._in_place = set()
        self._kept = []  # the in-place files kept when the run stopped (Ctrl-C, full disk)

    def write_in_place(self, name, write):
        """Write ``name`` straight into the run folder now, not at the end: a checkpoint.

        It stays if the run is interrupted (``KeyboardInterrupt``) or the disk fills, so the
        run can resume from it; it is removed when the run finishes; if the run fails otherwise,
        the file is put back as it was before (or removed if it was not there). A symlink (or a
        folder) at ``name`` raises ``FileExistsError`` and is left as it is.

        Parameters
        ----------
        name : str
            File name inside the run folder.
        write : callable
            Called as ``write(path)``; it must replace the file atomically (``RBM.save`` does).

        Returns
        -------
        path : Path
            The file written.
        """
        if self.mode == "add":
            raise ValueError("write_in_place needs mode 'new' or 'replace'.")
        if name not in self._in_place:
            self._check_regular(name)
            self._make_folder()
            self._preserve(name)
            self._in_place.add(name)
            self._write_manifest(self.recorded | self._in_place)  # recorded before it exists
        write(self._real / name)
        return self._real / name

    # ------------------------------------------------------------------ the steps
    def _open(self):
        if self._real.exists() and not self._real.is_dir():
            raise NotADirectoryError(f"{self.path} is a file; give a folder for the run.")
        self._made = make_folders(self._real.parent)
        try:
            self._lock = FolderLock(self._real).acquire()
            self.existed = self._real.is_dir()
            listed = _read_manifest(self._real / MANIFEST)
            if self.mode != "add":
                self._check_regular(MANIFEST)
                self.recorded = listed
            # Killed runs' leftovers: we hold the lock, so no live run of this folder made them.
            remove_temporaries(self._real, listed | {MANIFEST})
            self._clear_stale_staging()
            if self.mode == "new" and self.existed:
                self._check_empty()
            if self.mode != "add":
                for name in sorted(self.replaceable):
                    self._check_regular(name)
            self.staging, _ = make_new(self._real.parent, f".{self._real.name}.", ".partial",
                                       lambda path: os.mkdir(path, 0o777))
            _write_marker(self.staging / STAGING_MARKER, self._real.name)
        except BaseException:
            self._close(keep_folders=False)
            raise

    def _check_empty(self):
        found = sorted({p.name for p in self._real.iterdir()} - {MANIFEST}
                       - (self.replaceable & self.recorded))
        if found:
            shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise FileExistsError(
                f"{self.path} already exists and is not empty ({shown}): pass --overwrite to "
                "replace the run in it (files deepbelief did not write there are kept), or "
                "choose another --out."
            )

    def _commit(self):
        names = sorted(p.name for p in self.staging.iterdir()
                       if p.name not in (_BEFORE, _REPLACED, STAGING_MARKER))
        if self.mode == "add":
            self._make_folder()
            self._move_in(names, ())
            return
        if MANIFEST in names:
            raise ValueError(f"a run may not write its own {MANIFEST}.")
        stale = (self.recorded | self._in_place) - set(names)
        write_json(self.staging / MANIFEST, _manifest(names))
        self._make_folder()
        # Should this process die half-way through the moves, every file is recorded all the same.
        self._write_manifest(self.recorded | self._in_place | set(names))
        self._move_in([*names, MANIFEST], stale)

    def _move_in(self, names, remove):
        """Move the staged ``names`` into the folder and ``remove`` out of it, all or none."""
        aside = self.staging / _REPLACED
        aside.mkdir()
        # [name, what happened to the file it replaces, whether the staged file is in place]
        done = []
        try:
            for name in names:
                target = self._real / name
                old = "none"
                if os.path.lexists(target):
                    old = "linked" if _try_link(target, aside / name) else "moved"
                    if old == "moved":
                        os.replace(target, aside / name)
                done.append([name, old, False])
                os.replace(self.staging / name, target)
                done[-1][2] = True
            for name in sorted(remove):
                if os.path.lexists(self._real / name):
                    os.replace(self._real / name, aside / name)
                    done.append([name, "removed", False])
        except BaseException:
            for name, old, placed in reversed(done):
                with contextlib.suppress(OSError):
                    if placed:
                        os.replace(self._real / name, self.staging / name)
                    if old in ("moved", "removed") or (old == "linked" and placed):
                        os.replace(aside / name, self._real / name)
            raise

    def _roll_back(self):
        """Put every file changed in place back as it was."""
        for name, existed in self._touched.items():
            with contextlib.suppress(OSError):
                if existed:
                    os.replace(self.staging / _BEFORE / name, self._real / name)
                else:
                    (self._real / name).unlink(missing_ok=True)
        self._touched = {}

    def _keep_in_place(self):
        """Ctrl-C or a full disk: keep the checkpoints and the manifest that lists them, so the
        run resumes (a checkpoint is replaced atomically: what is there is the last one whole).

        Returns whether anything was kept."""
        self._kept = sorted(n for n in self._in_place if os.path.lexists(self._real / n))
        if not self._kept:
            self._roll_back()
            return False
        with contextlib.suppress(OSError):  # as before the commit began, if it had
            self._write_manifest(self.recorded | self._in_place)
        return True

    def _close(self, keep_folders):
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if not keep_folders:  # the folders made for the run, if nothing is in them
            remove_empty_folders(self._made)

    # ------------------------------------------------------------------ helpers
    def _make_folder(self):
        if not self._real.is_dir():
            self._real.mkdir()
            self._made.insert(0, self._real)

    def _preserve(self, name):
        """Before changing ``name`` in place the first time, keep it (a hard link) in staging."""
        if name in self._touched:
            return
        target = self._real / name
        existed = os.path.lexists(target)
        if existed:
            before = self.staging / _BEFORE
            before.mkdir(exist_ok=True)
            if not _try_link(target, before / name):
                shutil.copy2(target, before / name, follow_symlinks=False)
        self._touched[name] = existed

    def _write_manifest(self, names):
        self._preserve(MANIFEST)
        write_json(self._real / MANIFEST, _manifest(names))

    def _check_regular(self, name):
        """Refuse to write ``name`` in place over a symlink (or a folder): not ours to follow."""
        try:
            info = os.lstat(self._real / name)
        except FileNotFoundError:
            return
        if stat.S_ISREG(info.st_mode):
            return
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise FileExistsError(
            f"{self.path / name} is {what}: deepbelief writes its own {name} there while a run "
            "goes on, and never follows or replaces a link or folder it did not make. Move it "
            "away, or choose another run folder (--out)."
        )

    def _clear_stale_staging(self):
        """Staging folders of runs into this folder that were killed: those that hold our marker
        (we hold the lock, so no live run of this folder made them); anything else stays."""
        prefix = f".{self._real.name}."
        for entry in os.scandir(self._real.parent):
            rest = entry.name[len(prefix):] if entry.name.startswith(prefix) else ""
            if (_STAGING_NAME.fullmatch(rest) and entry.is_dir(follow_symlinks=False)
                    and _marked_stale(Path(entry.path) / STAGING_MARKER, self._real.name)):
                shutil.rmtree(entry.path, ignore_errors=True)

    def _shown(self, filename):
        """A path inside the staging or the real folder, as the user named the run folder."""
        path = Path(filename)
        for base in (self.staging, self._real):
            if base is not None and path.is_relative_to(base):
                return self.path / path.relative_to(base)
        return path

    def _disk_full(self, exc):
        where = self._shown(exc.filename) if exc.filename else self.path
        left = f"{self.path} is as it was before" if self.existed else "nothing was left behind"
        again = "run again"
        if self._kept:
            again = (f"run again with --resume: {', '.join(self._kept)}, the last written whole, "
                     f"is kept in {self.path}")
            left = "the rest of it is as it was before" if self.existed else ""
        error = OSError(f"the disk is full: could not write {where} ({exc.strerror}); free some "
                        f"space and {again}" + (f" ({left})." if left else "."))
        error.errno = exc.errno
        return error


def _manifest(names):
    return {"about": "The files deepbelief wrote in this run folder. A new run here "
            "(--overwrite, --resume) replaces or removes only these; anything else is kept.",
            "deepbelief": __version__, "files": sorted(names)}


def _read_manifest(path):
    """The file names a run folder's manifest lists (none if it is missing, unreadable or not a
    regular file: a symlink there is not followed)."""
    try:
        files = json.loads(_read_own_file(path)).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {f for f in files if isinstance(f, str) and f and "/" not in f and f not in (".", "..", MANIFEST)}


def _try_link(source, link):
    try:
        os.link(source, link, follow_symlinks=False)
        return True
    except OSError:  # a folder, or a file system without hard links
        return False


def _read_own_file(path, limit=-1):
    """The bytes of a regular file, without following a symlink (``OSError`` for anything else)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return f.read(limit)


def _write_marker(path, folder_name):
    """The proof that deepbelief made a staging folder: who, where, for which run folder."""
    text = json.dumps({"deepbelief": "staging", "folder": folder_name, "pid": os.getpid(),
                       "host": socket.gethostname()})
    with os.fdopen(os.open(path, NEW_FILE, 0o666), "wb") as f:
        f.write(text.encode() + b"\n")


def _marked_stale(marker, folder_name):
    """Whether ``marker`` is deepbelief's, for ``folder_name``, by a process that is gone."""
    try:
        info = json.loads(_read_own_file(marker, 4096))
        if info["deepbelief"] != "staging" or info["folder"] != folder_name:
            return False
        pid, host = int(info["pid"]), info["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return True  # we hold the lock: its run is over
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False  # alive: a run that lost its lock file? leave it alone
