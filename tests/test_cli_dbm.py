"""DBM and DBMClassifier through the command line: train, evaluate, sample, reconstruct, plot."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from deepbelief import DBM, DBMClassifier, load
from deepbelief._core import dbm_ais as da
from deepbelief.cli import main
from deepbelief.datasets import load_dataset
from deepbelief.models import likelihood

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return subprocess.run([sys.executable, "-m", "deepbelief", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def dbm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dbm"
    code = main(["train", "--model", "dbm", "--data", "digits", "--layers", "64,16,8", "--epochs", "3",
                 "--set", "pretrain_n_iter=3", "--log-likelihood", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_train_writes_the_dbm_its_exact_bound_and_its_pictures(dbm_run):
    names = {p.name for p in dbm_run.iterdir()}
    assert {"model.safetensors", "metrics.json", "report.html", "training_curves.png",
            "pretraining_curves.png", "filters.png", "unit_probes_layer2.png", "samples.png",
            "reconstructions.png"} <= names
    model = load(dbm_run / "model.safetensors")
    assert isinstance(model, DBM) and model.layer_sizes_ == [64, 16, 8] and model.n_iter_ == 3
    metrics = json.loads((dbm_run / "metrics.json").read_text())
    assert metrics["model"] == "dbm" and metrics["epochs_trained"] == 3
    assert "lower bound" in metrics["test_log_likelihood_kind"] and metrics["ais_betas"] == 0
    # 16 odd units: log Z is summed exactly, and the bound is that of the binarized test set
    weights = [torch.as_tensor(W, dtype=torch.float64) for W in model.weights_]
    biases = [torch.as_tensor(b, dtype=torch.float64) for b in model.biases_]
    assert metrics["log_z"] == pytest.approx(float(da.exact_log_partition(weights, biases)))
    X = likelihood.binarize(load_dataset("digits").X_test, "sample", random_state=0)
    assert metrics["test_log_likelihood"] == pytest.approx(float(model.score_samples(X).mean()))
    assert 0 < metrics["test_reconstruction_error_per_pixel"] < 0.2


def test_evaluate_log_likelihood_of_a_dbm_by_ais(tmp_path):
    out = tmp_path / "dbm"
    assert main(["train", "--model", "dbm", "--data", "digits", "--layers", "64,32,32", "--epochs", "2",
                 "--set", "pretrain_n_iter=2", "--out", str(out), "--quiet"]) == 0
    result = run("evaluate", str(out / "model.safetensors"), "--data", "digits", "--log-likelihood",
                 "--betas", "500", "--runs", "20", "--quiet")
    assert result.returncode == 0, result.stderr
    value = float(re.search(r"lower bound \(mean field, AIS for log Z\)\): (-?\d+\.\d+) nats", result.stdout)[1])
    assert -60 < value < 0 and "500 betas, 20 runs" in result.stdout


def test_sample_reconstruct_and_plot_a_dbm(dbm_run, tmp_path):
    from test_cli_commands import write_digit_png

    model_file = str(dbm_run / "model.safetensors")
    grid, chain = tmp_path / "s.png", tmp_path / "chain.gif"
    result = run("sample", model_file, "--n-samples", "9", "--burn-in", "20", "--out", str(grid),
                 "--chain", str(chain))
    assert result.returncode == 0, result.stderr
    assert grid.read_bytes()[:8] == PNG and Image.open(chain).n_frames > 1
    ds = load_dataset("digits")
    files = [str(write_digit_png(tmp_path / f"d{i}.png", ds.X_test[i])) for i in range(3)]
    out = tmp_path / "rec.png"
    result = run("reconstruct", model_file, *files, "--out", str(out), "--steps", "2")
    assert result.returncode == 0, result.stderr and out.read_bytes()[:8] == PNG
    result = run("plot", model_file, "--data", "digits", "--out", str(tmp_path / "plots"), "--quiet")
    assert result.returncode == 0, result.stderr
    listed = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert len(listed) >= 6 and all(open(p, "rb").read(8) == PNG for p in listed)


def test_train_and_evaluate_a_dbm_classifier(tmp_path):
    out = tmp_path / "clf"
    assert main(["train", "--model", "dbm-classifier", "--data", "digits", "--layers", "32,16",
                 "--epochs", "30", "--set", "pretrain_n_iter=3", "--set", "dbm_n_iter=3",
                 "--set", "solver=sgd", "--set", "learning_rate=0.3",
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "dbm-classifier" and metrics["test_accuracy"] > 0.9
    model = load(out / "model.safetensors")
    assert isinstance(model, DBMClassifier) and model.dbm_.layer_sizes_ == [64, 32, 16]
    assert {"confusion_matrix.png", "filters.png", "samples.png"} <= {p.name for p in out.iterdir()}
    result = run("evaluate", str(out / "model.safetensors"), "--data", "digits")
    assert result.returncode == 0 and f"accuracy {metrics['test_accuracy']:.4f}" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--model", "dbm", "--data", "digits", "--layers", "64,16"], "a DBM needs at least two"),
    (["train", "--model", "dbm-classifier", "--data", "digits", "--set", "dbm_n_iter=-1"],
     "dbm_n_iter"),
])
def test_dbm_mistakes_give_one_line(tmp_path, args, message):
    result = run(*args, "--out", str(tmp_path / "x"), "--quiet")
    assert result.returncode != 0 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not np.any(["Traceback" in result.stderr])
