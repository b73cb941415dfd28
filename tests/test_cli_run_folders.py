"""Commands that read a model take its run folder too, and test on the run's own data (issue 31,
item 2): a model trained on mnist-sample is evaluated on mnist-sample, with MNIST unreachable."""

import json

import numpy as np
import pytest
from PIL import Image

from deepbelief.cli import main
from deepbelief.datasets import load_dataset, mnist
from deepbelief.runs.jobs import run_data

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "clf"
    assert main(["train", "--model", "classifier", "--data", "mnist-sample", "--layers", "16",
                 "--epochs", "1", "--max-samples", "300", "--set", "pretrain_n_iter=1", "--out",
                 str(out), "--quiet", "--threads", "1"]) == 0
    return out


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No MNIST anywhere: a command that reached for it would fail."""
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "no-mnist-here"))
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])


@pytest.mark.parametrize("given", ["folder", "model file"])
def test_evaluate_tests_a_run_on_its_own_data(sample_run, offline, capsys, given):
    model = sample_run if given == "folder" else sample_run / "model.safetensors"
    assert main(["evaluate", str(model), "--quiet", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "test: accuracy 0." in out and "on 2000 images" in out  # mnist-sample's test digits


def test_every_command_takes_a_run_folder(sample_run, offline, tmp_path, capsys):
    run = str(sample_run)
    digit = load_dataset("mnist-sample").X_test[0].reshape(28, 28)
    png = tmp_path / "digit.png"
    Image.fromarray((digit * 255).astype(np.uint8)).save(png)
    assert main(["predict", run, str(png)]) == 0
    assert capsys.readouterr().out.startswith("digit.png,")
    assert main(["reconstruct", run, str(png), "--out", str(tmp_path / "r.png")]) == 0
    assert main(["sample", run, "--init", "data", "--n-samples", "4", "--burn-in", "2",
                 "--out", str(tmp_path / "s.png")]) == 0  # the run's mnist-sample test digits
    assert main(["plot", run, "--out", str(tmp_path / "plots"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "confusion" in printed.lower(), printed  # drawn from the run's test digits


def test_an_explicit_data_flag_wins(sample_run, capsys):
    assert main(["evaluate", str(sample_run), "--data", "mnist-sample", "--quiet"]) == 0
    assert "on 2000 images" in capsys.readouterr().out
    assert main(["evaluate", str(sample_run), "--data", "digits", "--quiet"]) == 1
    assert "pixels per image but the model expects 784" in capsys.readouterr().err


def test_a_folder_without_a_model_is_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a folder without a model.safetensors" in err


def test_run_data_reads_config_then_metrics(tmp_path):
    assert run_data(tmp_path / "model.safetensors") == (None, None)
    (tmp_path / "metrics.json").write_text(json.dumps({"data": "digits"}))
    assert run_data(tmp_path) == ("digits", None)  # train-rbm writes metrics.json only
    (tmp_path / "config.json").write_text(json.dumps({"data": "mnist", "data_home": "/d"}))
    assert run_data(tmp_path / "model.safetensors") == ("mnist", "/d")
    (tmp_path / "config.json").write_text("{not json")
    assert run_data(tmp_path) == ("digits", None)
