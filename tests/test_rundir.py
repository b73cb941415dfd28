"""Run folders: a run replaces only the files it wrote, only on success, one process at a time."""

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deepbelief._core.files import atomic_write_bytes
from deepbelief.runs.lock import FolderLock, lock_path
from deepbelief.runs.rundir import MANIFEST, STAGING_MARKER, run_folder, staged_dir


def snapshot(folder):
    """Every file and folder under ``folder`` (hidden ones too): path -> bytes (None: folder;
    a symlink: ``"-> target"``, its targets being in the snapshot as what they are)."""
    folder = Path(folder)

    def content(p):
        if p.is_symlink():
            return f"-> {os.readlink(p)}"
        if p.is_fifo():
            return "fifo"
        return None if p.is_dir() else p.read_bytes()

    return {str(p.relative_to(folder)): content(p) for p in sorted(folder.rglob("*"))}


def recorded(folder):
    return json.loads((Path(folder) / MANIFEST).read_text())["files"]


def write_run(out, files, mode="new", **kwargs):
    with run_folder(out, mode=mode, **kwargs) as run:
        for name, text in files.items():
            atomic_write_bytes(run.staging / name, text.encode())
    return out


@pytest.fixture
def user_run(tmp_path):
    """A finished run folder with the user's notes and a plots/ folder in it."""
    out = write_run(tmp_path / "run", {"model.txt": "old model", "old-only.png": "old picture"})
    (out / "notes.txt").write_text("my notes")
    (out / "plots").mkdir()
    (out / "plots" / "filters.png").write_bytes(b"a plot")
    return out


def test_a_new_run_appears_whole_with_its_manifest_and_nothing_beside(tmp_path):
    out = write_run(tmp_path / "a" / "run", {"model.txt": "m", "metrics.json": "{}"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "metrics.json", "model.txt"]
    assert recorded(out) == ["metrics.json", "model.txt"]
    assert [p.name for p in out.parent.iterdir()] == ["run"]  # no lock file, no staging folder


def test_replacing_a_run_keeps_every_file_it_did_not_write(user_run):
    before = snapshot(user_run)
    write_run(user_run, {"model.txt": "new model", "new.png": "new picture"}, mode="replace")
    after = snapshot(user_run)
    assert after["model.txt"] == b"new model" and after["new.png"] == b"new picture"
    assert "old-only.png" not in after  # the earlier run's file that this run did not rewrite
    for mine in ("notes.txt", "plots", "plots/filters.png"):
        assert after[mine] == before[mine]
    assert recorded(user_run) == ["model.txt", "new.png"]


def test_a_new_run_refuses_a_folder_with_files_and_touches_nothing(user_run):
    before = snapshot(user_run)
    with pytest.raises(FileExistsError, match=r"not empty \(model.txt, notes.txt, old-only.png, "
                       r"\.\.\.\): pass --overwrite"):
        write_run(user_run, {"model.txt": "new"})
    assert snapshot(user_run) == before
    assert sorted(p.name for p in user_run.parent.iterdir()) == ["run"]


@pytest.mark.parametrize("mode", ["new", "replace", "add"])
def test_a_failing_run_leaves_no_folder_and_an_existing_one_as_it_was(tmp_path, user_run, mode):
    fresh = tmp_path / "made" / "for" / "run"
    with pytest.raises(RuntimeError):
        with run_folder(fresh, mode=mode) as run:
            atomic_write_bytes(run.staging / "model.txt", b"half")
            raise RuntimeError("training broke")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # "made/for" went too
    if mode == "new":
        return
    before = snapshot(user_run)
    with pytest.raises(RuntimeError):
        with run_folder(user_run, mode=mode) as run:
            atomic_write_bytes(run.staging / "model.txt", b"half")
            raise RuntimeError("training broke")
    assert snapshot(user_run) == before


def test_a_checkpoint_stays_on_ctrl_c_goes_on_success_and_is_put_back_on_failure(tmp_path):
    out = tmp_path / "run"
    write = lambda text: lambda path: atomic_write_bytes(path, text.encode())  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        with run_folder(out) as run:
            run.write_in_place("checkpoint", write("epoch 1"))
            raise KeyboardInterrupt
    assert (out / "checkpoint").read_text() == "epoch 1" and recorded(out) == ["checkpoint"]
    interrupted = snapshot(out)
    with pytest.raises(ValueError):  # a resumed run that fails: the checkpoint is as it was
        with run_folder(out, mode="replace") as run:
            run.write_in_place("checkpoint", write("epoch 2"))
            raise ValueError("diverged")
    assert snapshot(out) == interrupted
    with run_folder(out, mode="new", replaceable=("checkpoint",)) as run:  # a new run may start
        run.write_in_place("checkpoint", write("epoch 1 again"))
        atomic_write_bytes(run.staging / "model.txt", b"done")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "model.txt"]


@pytest.mark.parametrize("failing_move", range(1, 7))  # every replace of the commit
def test_a_commit_that_fails_half_way_is_undone(user_run, monkeypatch, failing_move):
    before = snapshot(user_run)
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(src)
        if len(calls) == failing_move:
            raise OSError(errno.EIO, "input/output error")
        return real_replace(src, dst)

    with pytest.raises(OSError, match="input/output"):
        with run_folder(user_run, mode="replace") as run:
            atomic_write_bytes(run.staging / "model.txt", b"new model")
            atomic_write_bytes(run.staging / "new.png", b"new picture")
            monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(calls) >= failing_move
    assert snapshot(user_run) == before
    assert sorted(p.name for p in user_run.parent.iterdir()) == ["run"]


def disk_full_on(monkeypatch, name):
    """Make flushing any file written as ``name`` (its temporary name) fail with ENOSPC."""
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".{name}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("name", ["checkpoint", MANIFEST])  # before any checkpoint is whole
def test_a_full_disk_says_so_and_leaves_nothing(tmp_path, user_run, monkeypatch, name):
    def run(out, mode):
        with run_folder(out, mode=mode) as run:
            run.write_in_place("checkpoint", lambda p: atomic_write_bytes(p, b"epoch"))
            atomic_write_bytes(run.staging / "model.txt", b"new model")

    disk_full_on(monkeypatch, name)
    with pytest.raises(OSError, match="the disk is full: could not write .*nothing was left behind") as info:
        run(tmp_path / "new" / "run", "new")
    assert info.value.errno == errno.ENOSPC
    assert str(tmp_path / "new" / "run" / name) in str(info.value)  # the file, as the user named it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    before = snapshot(user_run)
    with pytest.raises(OSError, match=f"{user_run} is as it was before"):
        run(user_run, "replace")
    assert snapshot(user_run) == before


def test_adding_files_replaces_only_same_named_ones_and_records_nothing(user_run):
    before = snapshot(user_run)
    write_run(user_run, {"notes.txt": "replaced", "extra.png": "added"}, mode="add")
    after = snapshot(user_run)
    assert after.pop("notes.txt") == b"replaced" and after.pop("extra.png") == b"added"
    assert after == {k: v for k, v in before.items() if k != "notes.txt"}


def test_a_second_writer_fails_at_once_and_changes_nothing(user_run):
    before = snapshot(user_run)
    with run_folder(user_run, mode="replace") as first:
        atomic_write_bytes(first.staging / "model.txt", b"first")
        for mode in ("replace", "add"):
            with pytest.raises(BlockingIOError, match=rf"in use by another deepbelief process "
                               rf"\(pid {os.getpid()}, started .* UTC: "):
                write_run(user_run, {"model.txt": "second"}, mode=mode)
        assert snapshot(user_run) == before
    assert (user_run / "model.txt").read_text() == "first"
    write_run(user_run, {"model.txt": "third"}, mode="replace")  # free again


def test_two_spellings_of_a_folder_share_one_lock(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert lock_path(tmp_path / "link") == lock_path(tmp_path / "real") == tmp_path / ".real.lock"
    with FolderLock(tmp_path / "real"):
        with pytest.raises(BlockingIOError):
            FolderLock(tmp_path / "link" / ".." / "real").acquire()


HOLDER = textwrap.dedent("""
    import sys, time
    from deepbelief.runs.lock import FolderLock
    FolderLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_another_process_is_named_and_its_death_frees_the_folder(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BlockingIOError, match=rf"pid {holder.pid}, started .*: -c {out}"):
            write_run(out, {"model.txt": "mine"})
        assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock"]  # its file, untouched
    finally:
        holder.kill()
        holder.wait()
    assert lock_path(out).exists()  # killed: its lock file stays behind, and locks nothing
    write_run(out, {"model.txt": "mine"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_staged_dir_is_run_folder_in_its_simple_form(user_run):
    before = snapshot(user_run)
    with pytest.raises(FileExistsError, match="--overwrite"):
        with staged_dir(user_run):
            pass
    assert snapshot(user_run) == before
    with staged_dir(user_run, overwrite=True) as tmp:
        atomic_write_bytes(tmp / "model.txt", b"new")
    assert (user_run / "model.txt").read_text() == "new" and (user_run / "notes.txt").exists()


# ---------------------------------------------------------------- issue 29: files around a run
# A user's (or an attacker's) file beside or in a run folder is never followed, truncated or
# removed: deepbelief makes its own files exclusively, and removes only what it proves it made.

@pytest.fixture
def precious(tmp_path):
    path = tmp_path / "important.txt"
    path.write_text("precious")
    return path


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "hard link", "folder", "fifo",
                                  "file of yours"])
def test_the_lock_file_is_deepbeliefs_or_the_run_stops_and_touches_nothing(tmp_path, precious,
                                                                            kind):
    lock = tmp_path / ".run.lock"
    if kind == "symlink":
        lock.symlink_to(precious)
    elif kind == "dangling symlink":
        lock.symlink_to(tmp_path / "made-by-following.txt")
    elif kind == "hard link":
        os.link(precious, lock)
    elif kind == "folder":
        lock.mkdir()
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.write_text("which run is mine")
    before = snapshot(tmp_path)
    what = {"symlink": "is a symbolic link", "dangling symlink": "is a symbolic link",
            "hard link": "has 2 hard links", "file of yours": "holds something other than a lock"
            }.get(kind, "is not a regular file")
    with pytest.raises(FileExistsError, match=rf"^{lock} {what}, not a lock file deepbelief made"
                       r".*never follows or changes one.*Move it away"):
        write_run(tmp_path / "run", {"model.txt": "m"})
    assert snapshot(tmp_path) == before
    with pytest.raises(FileExistsError):
        FolderLock(tmp_path / "run").acquire()
    assert snapshot(tmp_path) == before


def test_a_lock_file_left_by_a_killed_run_is_taken_over(tmp_path):
    for left in ("", '{"pid": 1, "started": "2026-01-01 00:00:00 UTC", "command": "deepbelief"}'):
        lock_path(tmp_path / "run").write_text(left)
        write_run(tmp_path / "run", {"model.txt": "m"}, mode="replace")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("name,replaceable", [(MANIFEST, ()), ("checkpoint", ("checkpoint",)),
                                              ("checkpoint", ())])
def test_a_symlink_at_the_manifest_or_a_checkpoint_stops_the_run(tmp_path, user_run, precious,
                                                                 name, replaceable):
    (user_run / name).unlink(missing_ok=True)
    (user_run / name).symlink_to(precious)
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match=rf"^{user_run / name} is a symbolic link: "
                       "deepbelief writes its own .* never follows"):
        with run_folder(user_run, mode="replace", replaceable=replaceable) as run:
            run.write_in_place("checkpoint", lambda p: atomic_write_bytes(p, b"epoch 1"))
    assert snapshot(tmp_path) == before


def test_a_file_the_run_writes_replaces_a_symlink_there_and_never_its_target(tmp_path, user_run,
                                                                            precious):
    (user_run / "model.txt").unlink()
    (user_run / "model.txt").symlink_to(precious)
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError):  # a failing run puts the symlink itself back
        with run_folder(user_run, mode="replace") as run:
            atomic_write_bytes(run.staging / "model.txt", b"new model")
            raise RuntimeError("training broke")
    assert snapshot(tmp_path) == before
    write_run(user_run, {"model.txt": "new model"}, mode="replace")
    assert not (user_run / "model.txt").is_symlink()
    assert (user_run / "model.txt").read_text() == "new model" and precious.read_text() == "precious"
    link = tmp_path / "link.txt"
    link.symlink_to(precious)
    atomic_write_bytes(link, b"written")  # the rename replaces the link
    assert not link.is_symlink() and link.read_text() == "written" and precious.read_text() == "precious"


def test_names_planted_where_deepbelief_will_write_are_skipped(tmp_path, user_run, precious,
                                                              monkeypatch):
    from deepbelief._core import files

    real, calls = files.random_token, []

    def predictable():  # every other name is one an attacker guessed
        calls.append(1)
        return "guessed_" if len(calls) % 2 else real()

    monkeypatch.setattr(files, "random_token", predictable)
    victim = tmp_path / "victim"
    victim.mkdir()
    planted = [tmp_path / ".run.guessed_.partial", user_run / ".model.txt.deepbelief-guessed_.tmp",
               user_run / f".{MANIFEST}.deepbelief-guessed_.tmp"]
    planted[0].symlink_to(victim)
    for path in planted[1:]:
        path.symlink_to(precious)
    with run_folder(user_run, mode="replace", replaceable=("checkpoint",)) as run:
        assert run.staging != planted[0]
        run.write_in_place("checkpoint", lambda p: atomic_write_bytes(p, b"epoch 1"))
        atomic_write_bytes(run.staging / "model.txt", b"new model")
        atomic_write_bytes(user_run / "model.txt", b"straight in")
    assert all(path.is_symlink() for path in planted)
    assert precious.read_text() == "precious" and list(victim.iterdir()) == []
    assert (user_run / "model.txt").read_text() == "new model" and len(calls) >= 8


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_and_folders_get_the_umask_without_changing_it(tmp_path, mask):
    old = os.umask(mask)
    try:
        with run_folder(tmp_path / "run") as run:
            assert run.staging.stat().st_mode & 0o777 == 0o777 & ~mask
            atomic_write_bytes(run.staging / "model.txt", b"m")
        modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
        assert modes == {"model.txt": 0o666 & ~mask, MANIFEST: 0o666 & ~mask}
        assert os.umask(mask) == mask
    finally:
        os.umask(old)


KILLED_WRITING_A_CHECKPOINT = textwrap.dedent("""
    import os, signal, sys
    from deepbelief._core.files import atomic_write_bytes
    from deepbelief.runs.rundir import run_folder

    real_fsync, checkpoints = os.fsync, []

    def fsync(fd):  # SIGKILL while the second checkpoint is being written
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".checkpoint."):
            checkpoints.append(fd)
            if len(checkpoints) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        return real_fsync(fd)

    os.fsync = fsync
    with run_folder(sys.argv[1], replaceable=("checkpoint",)) as run:
        atomic_write_bytes(run.staging / "model.txt", b"half")
        for epoch in (1, 2):
            run.write_in_place("checkpoint", lambda p: atomic_write_bytes(p, b"epoch %d" % epoch))
""")


def users_look_alikes(out, checkpoint):
    """Files and folders of the user's named like deepbelief's temporaries and staging folders,
    beside and in ``out`` whose manifest lists ``checkpoint``."""
    parent = out.parent
    (parent / "elsewhere").mkdir()
    alive = {"deepbelief": "staging", "folder": out.name, "pid": os.getppid(),
             "host": socket.gethostname()}
    other = dict(alive, folder="run2", pid=2 ** 22 + 1)
    mine = [out / "notes.tmp", out / ".notes.txt.deepbelief-abcdefgh.tmp",
            out / f".{checkpoint}.abcdefgh.tmp", out / f"{checkpoint}.deepbelief-abcdefgh.tmp",
            parent / ".run.old" / "model.txt", parent / ".run.abcdefgh.partial" / "model.txt"]
    things = {**dict.fromkeys(mine, "mine"),
              parent / ".run.alive___.partial" / STAGING_MARKER: json.dumps(alive),
              parent / ".run.other___.partial" / STAGING_MARKER: json.dumps(other),
              parent / "elsewhere" / STAGING_MARKER: json.dumps(dict(alive, pid=2 ** 22 + 1))}
    for path, text in things.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    (out / f".{checkpoint}.deepbelief-symlink_.tmp").symlink_to(parent / "elsewhere")
    (out / f".{checkpoint}.deepbelief-folder__.tmp").mkdir()
    (parent / ".run.symlink_.partial").symlink_to(parent / "elsewhere")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_run_clears_what_a_killed_run_left_and_only_that(tmp_path):
    out = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITING_A_CHECKPOINT, str(out)])
    assert killed.returncode == -9
    staging = {p.name for p in tmp_path.iterdir()} - {".run.lock", "run"}
    assert len(staging) == 1 and (lock_path(out).exists() and out.exists())
    staging = staging.pop()
    assert (tmp_path / staging / ".deepbelief-staging.json").exists()  # deepbelief's marker
    temporary = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(temporary) == 1 and temporary[0].startswith(".checkpoint.deepbelief-")
    users_look_alikes(out, "checkpoint")
    (out / f".{MANIFEST}.deepbelief-abcdefgh.tmp").write_text("{")  # killed writing the manifest
    users = snapshot(tmp_path)
    with run_folder(out, mode="replace", replaceable=("checkpoint",)) as run:  # the resume
        assert (out / "checkpoint").read_text() == "epoch 1"
        assert not (out / temporary[0]).exists() and not (tmp_path / staging).exists()
        run.write_in_place("checkpoint", lambda p: atomic_write_bytes(p, b"epoch 2"))
        atomic_write_bytes(run.staging / "model.txt", b"done")
    after = snapshot(tmp_path)
    assert after.pop("run/model.txt") == b"done" and after.pop(f"run/{MANIFEST}")
    assert after == {k: v for k, v in users.items() if k not in (
        ".run.lock", "run/checkpoint", f"run/{MANIFEST}", f"run/{temporary[0]}", staging,
        f"run/.{MANIFEST}.deepbelief-abcdefgh.tmp",
        f"{staging}/model.txt", f"{staging}/.deepbelief-staging.json")}


def full_disk_on_write(monkeypatch, prefix, n):
    """Make the ``n``-th flush of a file whose temporary name starts ``prefix`` fail: ENOSPC."""
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(prefix):
            calls.append(fd)
            if len(calls) == n:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("fails,whole", [(".checkpoint.", "epoch 1"), (".model.txt.", "epoch 3")])
def test_a_full_disk_keeps_the_last_whole_checkpoint_to_resume_from(tmp_path, user_run,
                                                                    monkeypatch, fails, whole):
    def run(out, mode):
        with run_folder(out, mode=mode, replaceable=("checkpoint",)) as run:
            for epoch in (1, 2, 3):
                run.write_in_place("checkpoint", lambda p, e=epoch: atomic_write_bytes(p, b"epoch %d" % e))
            atomic_write_bytes(run.staging / "model.txt", b"new model")

    for out, mode in ((tmp_path / "new" / "run", "new"), (user_run, "replace")):
        before = snapshot(out) if out.exists() else {}
        with monkeypatch.context() as patch:
            full_disk_on_write(patch, fails, 2 if fails == ".checkpoint." else 1)
            with pytest.raises(OSError) as info:
                run(out, mode)
        where = out / ("checkpoint" if fails == ".checkpoint." else "model.txt")
        rest = " (the rest of it is as it was before)." if before else "."
        assert str(info.value) == (
            f"the disk is full: could not write {where} (No space left on device); free some space "
            f"and run again with --resume: checkpoint, the last written whole, is kept in {out}{rest}")
        assert info.value.errno == errno.ENOSPC
        after = snapshot(out)
        assert after.pop("checkpoint") == whole.encode() and "checkpoint" in recorded(out)
        after.pop(MANIFEST), before.pop(MANIFEST, None)
        assert after == before  # no temporary file, the user's files as they were
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    with run_folder(user_run, mode="replace", replaceable=("checkpoint",)) as run:
        assert (user_run / "checkpoint").read_text() == whole
        atomic_write_bytes(run.staging / "model.txt", b"resumed")
    assert not (user_run / "checkpoint").exists() and "checkpoint" not in recorded(user_run)
