"""Run folders: a run replaces only the files it wrote, only on success, one process at a time."""

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deepbelief._core.files import atomic_write_bytes
from deepbelief.runs.lock import FolderLock, lock_path
from deepbelief.runs.rundir import MANIFEST, run_folder, staged_dir


def snapshot(folder):
    """Every file and folder under ``folder`` (hidden ones too): path -> bytes (None: folder)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


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
@pytest.mark.parametrize("name", ["checkpoint", "model.txt", MANIFEST])
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


def test_staging_folders_of_killed_runs_are_cleared(tmp_path):
    for stale in (".run.abcd_123.partial", ".run.old"):
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "model.txt").write_text("half")
    (tmp_path / ".run.x.abcd_123.partial").mkdir()  # another folder's ("run.x"): not ours
    write_run(tmp_path / "run", {"model.txt": "m"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.x.abcd_123.partial", "run"]


def test_staged_dir_is_run_folder_in_its_simple_form(user_run):
    before = snapshot(user_run)
    with pytest.raises(FileExistsError, match="--overwrite"):
        with staged_dir(user_run):
            pass
    assert snapshot(user_run) == before
    with staged_dir(user_run, overwrite=True) as tmp:
        atomic_write_bytes(tmp / "model.txt", b"new")
    assert (user_run / "model.txt").read_text() == "new" and (user_run / "notes.txt").exists()
