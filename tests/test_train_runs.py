"""Training into run folders, through the CLI and the Python API, as issue 23 tried it: the
user's files survive resume and overwrite, a resumed model is the uninterrupted one, two runs
never mix, a blown-up model is never saved, and a full disk leaves nothing behind."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from deepbelief import RBM, load
from deepbelief.cli import main
from deepbelief.datasets import load_dataset
from deepbelief.runs import demo, jobs
from deepbelief.runs.rundir import MANIFEST
from deepbelief.runs.train import merge_config, train_model
from test_rundir import disk_full_on, snapshot

TRAIN = ["train-rbm", "--data", "digits", "--n-components", "8", "--batch-size", "100", "--quiet"]


def train_rbm(out, *flags):
    return main([*TRAIN, "--out", str(out), *flags])


def one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def finished_run(tmp_path, capsys):
    """A finished RBM run with the user's notes and a plots/ folder made by ``deepbelief plot``."""
    out = tmp_path / "run"
    assert train_rbm(out, "--epochs", "2") == 0
    assert main(["plot", str(out / "model.safetensors"), "--out", str(out / "plots"), "--quiet"]) == 0
    (out / "notes.txt").write_text("lr 0.1 looked fine")
    capsys.readouterr()
    return out


def users_files(out):
    return {k: v for k, v in snapshot(out).items() if k == "notes.txt" or k.startswith("plots")}


def test_resume_and_overwrite_keep_what_the_user_put_in_the_folder(finished_run):
    mine = users_files(finished_run)
    assert len(mine) > 3  # notes, plots/ and the pictures in it
    assert train_rbm(finished_run, "--epochs", "3", "--resume") == 0
    assert load(finished_run / "model.safetensors").n_iter_ == 3
    assert users_files(finished_run) == mine
    assert train_rbm(finished_run, "--epochs", "1", "--overwrite", "--seed", "1") == 0
    assert users_files(finished_run) == mine
    config = merge_config(model="rbm", data="digits", params={"n_components": 4, "n_iter": 1})
    train_model(config, finished_run, overwrite=True, verbose=0)  # with the report this time
    assert users_files(finished_run) == mine
    listed = json.loads((finished_run / MANIFEST).read_text())["files"]
    assert "report.html" in listed and "notes.txt" not in listed and "plots" not in listed
    assert sorted(set(os.listdir(finished_run)) - {MANIFEST}) == sorted(listed + ["notes.txt", "plots"])


def interrupt_after_checkpoint(monkeypatch, n):
    """Ctrl-C right after the ``n``-th checkpoint is written."""
    save, saved = RBM.save, []

    def save_then_interrupt(self, path):
        written = save(self, path)
        saved.append(path)
        if len(saved) == n:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(RBM, "save", save_then_interrupt)


@pytest.mark.parametrize("entry", ["cli", "api"])
def test_a_resumed_run_saves_the_model_an_uninterrupted_run_saves(tmp_path, monkeypatch, capsys, entry):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train_rbm(straight, "--epochs", "4") == 0
    with monkeypatch.context() as patch:
        interrupt_after_checkpoint(patch, 2)
        assert train_rbm(resumed, "--epochs", "4") == 130
    assert "--resume" in one_line(capsys)
    assert sorted(os.listdir(resumed)) == [MANIFEST, "checkpoint.safetensors"]
    if entry == "cli":
        assert train_rbm(resumed, "--epochs", "4", "--resume") == 0
    else:
        config = merge_config(model="rbm", data="digits", params={"n_iter": 4})
        train_model(config, resumed, resume=True, report=False, verbose=0)
    a, b = load(straight / "model.safetensors"), load(resumed / "model.safetensors")
    assert a.get_params() == b.get_params() and b.warm_start is False
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for x, y in zip(a._velocity, b._velocity):
        np.testing.assert_array_equal(x, y)
    assert a.history_["reconstruction_error"] == b.history_["reconstruction_error"]
    ma, mb = (json.loads((out / "metrics.json").read_text()) for out in (straight, resumed))
    assert ma["params"] == mb["params"] and mb["params"]["warm_start"] is False
    assert ma["reconstruction_error_per_epoch"] == mb["reconstruction_error_per_epoch"]
    assert not (resumed / "checkpoint.safetensors").exists()
    # Both train anew on new data (a saved warm_start=True would keep the old weights).
    X = load_dataset("digits").X_test
    a.fit(X)
    b.fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert b.n_iter_ == 4 and b.history_["epoch"] == [1, 2, 3, 4]


def test_an_interrupted_new_run_starts_afresh_without_flags(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_after_checkpoint(patch, 1)
        assert train_rbm(out, "--epochs", "3") == 130
    assert train_rbm(out, "--epochs", "2") == 0  # the interrupted checkpoint is replaced
    assert load(out / "model.safetensors").n_iter_ == 2
    assert "checkpoint.safetensors" not in os.listdir(out)


def wait_for(predicate, seconds=120):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.01)


def test_a_second_training_into_the_folder_fails_at_once_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "deepbelief", *TRAIN, "--epochs", "30",
                              "--out", str(out)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (out / "checkpoint.safetensors").exists() or first.poll() is not None)
        first.send_signal(signal.SIGSTOP)  # mid-run, holding the lock as long as we like
        assert first.poll() is None, first.stderr.read()
        before = snapshot(out)
        for flags in ([], ["--resume"], ["--overwrite"]):
            assert train_rbm(out, "--epochs", "1", *flags) == 1
            err = one_line(capsys)
            assert f"in use by another deepbelief process (pid {first.pid}, started " in err
            assert "python -m deepbelief train-rbm" in err and "choose another run folder" in err
            assert snapshot(out) == before
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert sorted(os.listdir(out)) == [MANIFEST, "filters.png", "metrics.json", "model.safetensors",
                                       "reconstructions.png"]
    assert load(out / "model.safetensors").n_iter_ == 30
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_blown_up_rbm_is_not_saved(tmp_path, capsys):
    assert train_rbm(tmp_path / "run", "--epochs", "2", "--learning-rate", "1e6") == 1
    err = one_line(capsys)
    assert "blew up in epoch 1" in err and "learning_rate (now 1e+06" in err
    assert os.listdir(tmp_path) == []


FULL_DISK_AT = ["checkpoint.safetensors", "model.safetensors", "filters.png", "metrics.json",
                MANIFEST]
BEFORE_A_CHECKPOINT = ("checkpoint.safetensors", MANIFEST)  # the disk fills before one is whole


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("name", FULL_DISK_AT)
def test_a_full_disk_leaves_a_new_run_out_and_an_old_one_as_it_was(finished_run, monkeypatch,
                                                                   capsys, name):
    """... but for the last whole checkpoint, once there is one: training is not lost for want
    of space for a picture, ``--resume`` finishes the run (issue 29)."""
    before = snapshot(finished_run)
    fresh = finished_run.parent / "new" / "run"
    kept = name not in BEFORE_A_CHECKPOINT
    disk_full_on(monkeypatch, name)
    assert train_rbm(fresh, "--epochs", "2") == 1
    err = one_line(capsys)
    assert f"the disk is full: could not write {fresh / name}" in err
    if kept:
        assert ("run again with --resume: checkpoint.safetensors, the last written whole, is kept "
                f"in {fresh}.") in err
        assert sorted(os.listdir(fresh)) == [MANIFEST, "checkpoint.safetensors"]
        shutil.rmtree(fresh.parent)
    else:
        assert "nothing was left behind" in err
    assert sorted(os.listdir(finished_run.parent)) == ["run"]
    for flags in (["--overwrite"], ["--resume", "--epochs", "3"]):
        assert train_rbm(finished_run, "--epochs", "2", *flags) == 1
        after = snapshot(finished_run)
        if kept:
            assert f"is kept in {finished_run} (the rest of it is as it was before)." in one_line(capsys)
            assert after.pop("checkpoint.safetensors")
            listed = json.loads(after.pop(MANIFEST))["files"]
            assert listed == sorted([*json.loads(before[MANIFEST])["files"], "checkpoint.safetensors"])
            after[MANIFEST] = before[MANIFEST]
        else:
            assert f"{finished_run} is as it was before" in one_line(capsys)
        assert after == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("name", ["report.html", "training.log", "config.json"])
def test_a_full_disk_in_a_full_report_leaves_only_the_checkpoint(tmp_path, monkeypatch, capsys,
                                                                  name):
    disk_full_on(monkeypatch, name)
    code = main(["train", "--model", "rbm", "--data", "digits", "--layers", "8", "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1 and "the disk is full" in one_line(capsys)
    assert os.listdir(tmp_path) == ["run"]  # for --resume
    assert sorted(os.listdir(tmp_path / "run")) == [MANIFEST, "checkpoint.safetensors"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_plot_and_the_demo_go_through_the_same_run_folder(finished_run, monkeypatch, capsys):
    model = finished_run / "model.safetensors"
    before = snapshot(finished_run)
    with monkeypatch.context() as patch:
        disk_full_on(patch, "filters.png")
        with pytest.raises(OSError, match="disk is full"):
            jobs.plot(model, finished_run / "more-plots")
        assert snapshot(finished_run) == before
    pictures = jobs.plot(model, finished_run)  # straight into the run folder: adds, removes nothing
    assert all(path.parent == finished_run and path.exists() for _, path in pictures)
    assert set(snapshot(finished_run)) >= set(before)
    # The demo replaces its own earlier files, keeps the user's, and leaves nothing if it fails.
    monkeypatch.setattr(demo, "RBM", lambda *args, **kwargs: RBM(16, n_iter=1, random_state=0))
    out = finished_run.parent / "demo"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    metrics = demo.run_demo(out, data="digits", verbose=0, say=lambda line: None)
    assert metrics["pictures"]["filters"] == str(out / "filters.png") and (out / "filters.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    demo_before = snapshot(out)
    disk_full_on(monkeypatch, "metrics.json")
    with pytest.raises(OSError, match="disk is full"):
        demo.run_demo(out, data="digits", verbose=0, say=lambda line: None)
    assert snapshot(out) == demo_before


def test_the_current_folder_can_be_the_run_folder(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    assert train_rbm(".", "--epochs", "1") == 0
    (run / "notes.txt").write_text("mine")
    assert train_rbm(".", "--epochs", "2", "--resume") == 0
    assert load(run / "model.safetensors").n_iter_ == 2 and (run / "notes.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["run"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_single_file_output_on_a_full_disk_names_it_and_leaves_no_folder(finished_run,
                                                                           monkeypatch, capsys):
    target = finished_run.parent / "new" / "samples.png"
    disk_full_on(monkeypatch, "samples.png")
    assert main(["sample", str(finished_run / "model.safetensors"), "--burn-in", "5",
                 "--out", str(target)]) == 1
    assert f"No space left on device: '{target}'" in one_line(capsys)
    assert sorted(os.listdir(finished_run.parent)) == ["run"]
