"""Files around a run folder are never lost or overwritten, through the CLI as a user (or an
attacker) tries it (issue 29): a symlink planted at a name deepbelief writes is never followed,
a killed run's leftovers go and nothing of the user's does, and a disk that fills keeps the last
whole checkpoint for ``--resume``. The library side of each is in test_rundir.py."""

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deepbelief import load
from deepbelief.runs.rundir import MANIFEST
from deepbelief.runs.train import merge_config, train_model
from test_rundir import full_disk_on_write, snapshot, users_look_alikes
from test_train_runs import TRAIN, one_line, train_rbm

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The model of an uninterrupted 3-epoch run, to compare resumed runs with."""
    out = tmp_path_factory.mktemp("straight") / "run"
    assert train_rbm(out, "--epochs", "3") == 0
    return load(out / "model.safetensors")


def assert_same_model(a, b):
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.history_["reconstruction_error"] == b.history_["reconstruction_error"]


@pytest.fixture
def precious(tmp_path):
    path = tmp_path / "important.txt"
    path.write_text("precious")
    return path


def test_a_symlink_at_the_lock_file_is_refused_and_its_target_kept(tmp_path, precious, capsys):
    (tmp_path / ".run.lock").symlink_to(precious)
    before = snapshot(tmp_path)
    assert train_rbm(tmp_path / "run", "--epochs", "1") == 1
    err = one_line(capsys)
    assert f"error: {tmp_path / '.run.lock'} is a symbolic link, not a lock file deepbelief made" in err
    assert snapshot(tmp_path) == before  # the target not truncated, no run folder made


def test_symlinks_in_a_run_folder_are_never_followed(tmp_path, precious, capsys):
    out = tmp_path / "run"
    assert train_rbm(out, "--epochs", "1") == 0
    for name in (MANIFEST, "checkpoint.safetensors"):
        saved = (out / name).read_bytes() if (out / name).exists() else None
        (out / name).unlink(missing_ok=True)
        (out / name).symlink_to(precious)
        before = snapshot(tmp_path)
        for flags in (["--resume"], ["--overwrite"]):
            assert train_rbm(out, "--epochs", "2", *flags) == 1
            assert f"{out / name} is a symbolic link: deepbelief writes its own" in one_line(capsys)
            assert snapshot(tmp_path) == before
        (out / name).unlink()
        if saved is not None:
            (out / name).write_bytes(saved)
    # A file the run writes at the end replaces a symlink there, never its target.
    (out / "model.safetensors").rename(tmp_path / "mine.safetensors")
    (out / "model.safetensors").symlink_to(tmp_path / "mine.safetensors")
    mine = (tmp_path / "mine.safetensors").read_bytes()
    assert train_rbm(out, "--epochs", "2", "--overwrite") == 0
    assert not (out / "model.safetensors").is_symlink() and load(out / "model.safetensors").n_iter_ == 2
    assert (tmp_path / "mine.safetensors").read_bytes() == mine and precious.read_text() == "precious"


KILLED_WRITING_A_CHECKPOINT = textwrap.dedent("""
    import os, signal, sys
    from deepbelief.cli import main

    real_fsync, checkpoints = os.fsync, []

    def fsync(fd):  # SIGKILL while the second checkpoint is being written
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(".checkpoint.safetensors."):
            checkpoints.append(fd)
            if len(checkpoints) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        return real_fsync(fd)

    os.fsync = fsync
    sys.exit(main(sys.argv[1:]))
""")


@needs_proc
def test_resume_after_a_kill_clears_the_killed_runs_files_and_no_one_elses(tmp_path, straight):
    out = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITING_A_CHECKPOINT, *TRAIN,
                             "--epochs", "3", "--out", str(out)], stderr=subprocess.PIPE, text=True)
    assert killed.returncode == -9, killed.stderr
    beside = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".partial"))
    inside = sorted(p.name for p in out.iterdir())
    assert len(beside) == 1 and inside[0].startswith(".checkpoint.safetensors.deepbelief-")
    assert inside[1:] == [MANIFEST, "checkpoint.safetensors"]
    users_look_alikes(out, "checkpoint.safetensors")
    killed_runs = {".run.lock", f"run/{inside[0]}", "run/checkpoint.safetensors", f"run/{MANIFEST}"}
    users = {k: v for k, v in snapshot(tmp_path).items()
             if k not in killed_runs and not k.startswith(beside[0])}
    assert train_rbm(out, "--epochs", "3", "--resume") == 0
    after = snapshot(tmp_path)
    ours = {"run/model.safetensors", "run/metrics.json", "run/filters.png", "run/reconstructions.png",
            f"run/{MANIFEST}"}
    assert set(after) - set(users) == ours
    assert {k: after[k] for k in users} == users
    resumed = load(out / "model.safetensors")
    assert resumed.history_["epoch"] == [1, 2, 3]
    assert_same_model(straight, resumed)  # from epoch 1's checkpoint, the killed run's last whole


@needs_proc
@pytest.mark.parametrize("entry", ["cli", "api"])
def test_a_full_disk_at_the_second_checkpoint_resumes_from_the_first(tmp_path, monkeypatch,
                                                                     capsys, straight, entry):
    out = tmp_path / "run"
    config = merge_config(model="rbm", data="digits", params={"n_components": 8, "batch_size": 100,
                                                              "n_iter": 3})
    with monkeypatch.context() as patch:
        full_disk_on_write(patch, ".checkpoint.safetensors.", 2)
        if entry == "cli":
            assert train_rbm(out, "--epochs", "3") == 1
            message = one_line(capsys)
        else:
            with pytest.raises(OSError) as info:
                train_model(config, out, report=False, verbose=0)
            message, code = str(info.value), info.value.errno
            assert code == errno.ENOSPC
    assert message.endswith(
        f"the disk is full: could not write {out / 'checkpoint.safetensors'} (No space left on "
        "device); free some space and run again with --resume: checkpoint.safetensors, the last "
        f"written whole, is kept in {out}.")
    assert sorted(os.listdir(tmp_path)) == ["run"]
    assert sorted(os.listdir(out)) == [MANIFEST, "checkpoint.safetensors"]
    assert load(out / "checkpoint.safetensors").n_iter_ == 1
    assert json.loads((out / MANIFEST).read_text())["files"] == ["checkpoint.safetensors"]
    if entry == "cli":
        assert train_rbm(out, "--epochs", "3", "--resume") == 0
    else:
        train_model(config, out, resume=True, report=False, verbose=0)
    assert_same_model(straight, load(out / "model.safetensors"))
    assert "checkpoint.safetensors" not in os.listdir(out)
