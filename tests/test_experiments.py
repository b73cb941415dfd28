"""Every experiment end to end at scale="smoke": metrics, pictures, report, the seed's numbers.

With ``DEEPBELIEF_DATA`` pointing at the MNIST files the runs use MNIST subsets; without it
the MNIST loader is made to fail (no network in tests) and the runs use the MNIST sample that ships
with the package.
"""

import base64
import json
import os

import numpy as np
import pytest

from deepbelief.datasets import load_mnist, named
from deepbelief.experiments import (
    EXPERIMENTS,
    SCALES,
    _common,
    rbm_anatomy,
    run_experiment,
)
from deepbelief.experiments.autoencoder_2d import SEED_HIGHLIGHT, highlight_rows
from deepbelief.experiments.rbm_logistic import crop_shape_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COMMON_KEYS = {"experiment", "scale", "data", "comparison", "pictures", "seconds"}
KEYS = {
    "rbm-logistic": {"raw_logistic_accuracy", "raw_logistic_nudged_accuracy",
                     "rbm_logistic_accuracy", "rbm_logistic_nudged_accuracy",
                     "nudge_trained_accuracy", "nudge_trained_nudged_accuracy",
                     "crops_accuracy", "crops_nudged_accuracy", "crop_shape",
                     "classification_report", "n_train", "n_test", "best_params"},
    "dbn-classifier": {"accuracy", "best", "classification_report", "confusion_matrix",
                       "fit_seconds", "n_distorted", "n_train", "n_test"},
    "autoencoder-2d": {"reconstruction_error", "knn_accuracy_2d", "highlighted_test_rows",
                       "highlighted_labels", "animation", "frames"},
    "rbm-anatomy": {"seed_style_error", "reconstruction_error", "bias_vs_mean_mse",
                    "repair_error", "n_train"},
}


def _mnist_is_there():
    try:
        load_mnist(download=False, verbose=0)
    except (OSError, ValueError):
        return False
    return True


MNIST = _mnist_is_there()


def _no_mnist(*args, **kwargs):
    raise FileNotFoundError("MNIST files not found (made to fail by the test)")


@pytest.fixture(scope="module", params=list(EXPERIMENTS))
def smoke_run(request, tmp_path_factory):
    """(name, run folder, returned metrics, printed lines) of one smoke run per experiment."""
    name = request.param
    out = tmp_path_factory.mktemp("runs") / name
    lines = []
    with pytest.MonkeyPatch.context() as mp:
        if not MNIST:
            mp.setattr(named, "load_mnist", _no_mnist)
        # rbm-logistic runs its grid search here; its plain path runs on the digits below.
        metrics = run_experiment(name, out, scale="smoke", search=name == "rbm-logistic",
                                 verbose=0, say=lines.append)
    return name, out, metrics, lines


def test_metrics_have_the_promised_keys_and_match_the_json(smoke_run):
    name, out, metrics, _ = smoke_run
    assert COMMON_KEYS | KEYS[name] <= set(metrics)
    assert metrics["experiment"] == name and metrics["scale"] == "smoke"
    assert metrics["data"] == ("mnist" if MNIST else "mnist-sample")
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_every_picture_is_an_image_embedded_in_the_report(smoke_run):
    _, out, metrics, _ = smoke_run
    assert metrics["pictures"], "an experiment without pictures"
    report = (out / "report.html").read_text()
    for name in metrics["pictures"]:
        data = (out / name).read_bytes()
        assert data.startswith(b"GIF8" if name.endswith(".gif") else PNG_MAGIC), name
        assert base64.b64encode(data).decode("ascii") in report, name
    videos = metrics.get("animation", [])  # the GIF is a picture too; an MP4 only with ffmpeg
    written = sorted(set(metrics["pictures"] + videos + ["metrics.json", "report.html"]))
    assert sorted(p.name for p in out.iterdir()) == [".deepbelief-run.json", *written]
    assert json.loads((out / ".deepbelief-run.json").read_text())["files"] == written
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no staging folder left


def test_the_seeds_numbers_are_printed_beside_ours(smoke_run):
    _, _, metrics, lines = smoke_run
    rows = metrics["comparison"]
    assert any(r["seed"] is not None for r in rows)
    for row in rows:
        assert row["ours"] is not None or row["ours_text"] == "-"
        printed = [line for line in lines if line.startswith(f"  {row['what']} ")]
        assert len(printed) == 1, row["what"]
        seed_at = printed[0].index(row["seed_text"], 2 + len(row["what"]))
        assert printed[0].index(row["ours_text"], seed_at + len(row["seed_text"])) > seed_at


def test_the_animation_shows_pretraining_then_fine_tuning(smoke_run):
    name, out, metrics, _ = smoke_run
    if name != "autoencoder-2d":
        pytest.skip("only autoencoder-2d makes an animation")
    from PIL import Image

    frames = metrics["frames"]
    assert frames[0].startswith("Pretraining the code layer: epoch 1/")
    assert frames[-1].startswith("Fine-tuning: epoch 2/2")
    with Image.open(out / "codes_during_training.gif") as gif:
        assert gif.n_frames == len(frames)  # the held last frame is merged into one


def test_seed_numbers_are_shown_as_precisely_as_the_seed_gave_them():
    from deepbelief.experiments.rbm_logistic import SEED

    assert SEED == {"raw": 0.89, "rbm": 0.93, "rbm_nudged": 0.88}
    ctx = _common.Run("x", None)
    assert ctx.compare("a", 0.89, 0.9035)["seed_text"] == "89%"
    assert ctx.compare("b", 0.9795, 0.95)["seed_text"] == "97.95%"
    assert ctx.compare("c", None, 0.5)["ours_text"] == "50.00%"


def test_unknown_experiment_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="rbm-logistic, dbn-classifier, autoencoder-2d"):
        run_experiment("rbm-logistics", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_scale_is_refused(tmp_path):
    assert SCALES == ("smoke", "quick", "full")
    with pytest.raises(ValueError, match="scale must be one of"):
        run_experiment("rbm-anatomy", tmp_path / "out", scale="tiny")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def tiny_experiment(monkeypatch):
    """A registered experiment that writes one picture in no time."""
    from deepbelief.experiments import Experiment
    from deepbelief.viz.figures import plot_image_grid

    def run(ctx):
        ctx.picture("grey", plot_image_grid(np.full((1, 4), 0.5), (2, 2), ctx.out / "grey.png"))
        ctx.compare("something", 0.5, 0.25)
        ctx.print_comparison("tiny")
        return {"data": "none"}

    monkeypatch.setitem(EXPERIMENTS, "tiny", Experiment("Tiny", (), run))


def test_existing_run_folder_is_kept_unless_overwrite(tmp_path, tiny_experiment):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        run_experiment("tiny", out, verbose=0, say=lambda line: None)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    metrics = run_experiment("tiny", out, verbose=0, say=lambda line: None, overwrite=True)
    # --overwrite replaces a run, never files deepbelief did not write there.
    assert sorted(p.name for p in out.iterdir()) == [
        ".deepbelief-run.json", "grey.png", "metrics.json", "old.txt", "report.html"]
    assert (out / "old.txt").read_text() == "keep me"
    assert metrics["pictures"] == ["grey.png"] and metrics["comparison"][0]["seed_text"] == "50%"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_full_disk_leaves_nothing_and_a_second_run_waits_its_turn(tmp_path, tiny_experiment,
                                                                     monkeypatch):
    from deepbelief.runs.lock import FolderLock
    from test_rundir import disk_full_on

    out = tmp_path / "run"
    with FolderLock(out), pytest.raises(BlockingIOError, match=f"pid {os.getpid()}"):
        run_experiment("tiny", out, verbose=0, say=lambda line: None)
    disk_full_on(monkeypatch, "report.html")
    with pytest.raises(OSError, match=f"disk is full: could not write {out / 'report.html'}"):
        run_experiment("tiny", out, verbose=0, say=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_run_leaves_nothing_half_written(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("plotting broke midway")

    # After both RBMs are trained and several pictures are written.
    monkeypatch.setattr(rbm_anatomy, "plot_pair", broken)
    if not MNIST:
        monkeypatch.setattr(named, "load_mnist", _no_mnist)
    fresh, kept = tmp_path / "fresh" / "run", tmp_path / "kept"
    with pytest.raises(RuntimeError, match="midway"):
        run_experiment("rbm-anatomy", fresh, scale="smoke", verbose=0, say=lambda line: None)
    assert list(tmp_path.iterdir()) == []  # not even the parent folder made for the run
    kept.mkdir()
    (kept / "metrics.json").write_text("{}")
    with pytest.raises(RuntimeError, match="midway"):
        run_experiment("rbm-anatomy", kept, scale="smoke", verbose=0, say=lambda line: None,
                       overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert [p.name for p in kept.iterdir()] == ["metrics.json"]
    assert (kept / "metrics.json").read_text() == "{}"


def test_smoke_falls_back_to_the_shipped_sample_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(named, "load_mnist", _no_mnist)
    lines = []
    metrics = run_experiment("rbm-logistic", tmp_path / "run", scale="smoke", verbose=0,
                             say=lines.append)
    notices = [line for line in lines if "MNIST digits that ship with deepbelief" in line]
    assert len(notices) == 1 and "MNIST" in notices[0]
    assert metrics["data"] == "mnist-sample" and metrics["crop_shape"] == [24, 24]
    assert metrics["crops_accuracy"] is not None and "best_params" not in metrics


def test_quick_runs_do_not_fall_back(tmp_path, monkeypatch):
    monkeypatch.setattr(named, "load_mnist", _no_mnist)
    with pytest.raises(FileNotFoundError, match="MNIST"):
        run_experiment("rbm-anatomy", tmp_path / "run", scale="quick", verbose=0,
                       say=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_crop_shape_follows_the_seed():
    assert crop_shape_for((28, 28)) == (24, 24)
    assert crop_shape_for((8, 8)) == (6, 6)
    assert crop_shape_for((4, 4)) is None


def test_highlighted_digits_are_the_seeds_on_mnist():
    y_mnist_sized = np.zeros(10_000, dtype=int)
    assert highlight_rows(y_mnist_sized) == [72 - 1, 3 - 1, 83 - 1, 91 - 1, 6688 - 1, 7860 - 1,
                                             92 - 1, 1 - 1, 180 - 1, 13 - 1] == SEED_HIGHLIGHT
    y = np.array([3, 3, 1, 0, 1, 2, 9])
    assert highlight_rows(y) == [0, 2, 3, 5, 6]


def test_experiment_command_runs_as_a_user_would(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "anatomy"
    result = subprocess.run(
        [sys.executable, "-m", "deepbelief", "experiment", "rbm-anatomy", "--smoke", "--out",
         str(out), "--quiet"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").exists() and "report.html" in result.stdout


def test_unknown_experiment_is_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "deepbelief", "experiment", "mnist-gan", "--smoke",
                             "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "rbm-logistic" in result.stderr and not (tmp_path / "x").exists()
