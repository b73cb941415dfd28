"""train / evaluate / predict / sample / reconstruct / plot, run as a user would."""

import base64
import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from deepbelief import load
from deepbelief.cli import main
from deepbelief.datasets import load_dataset

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "deepbelief", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "clf"
    code = main(["train", "--model", "classifier", "--data", "digits", "--layers", "48",
                 "--epochs", "8", "--set", "pretrain_n_iter=3", "--set", "learning_rate=0.3",
                 "--set", "solver=sgd", "--out", str(out), "--quiet"])  # the SGD recipe it was written for
    assert code == 0
    return out


def test_train_writes_model_metrics_config_log_pictures_report(classifier_run):
    names = {p.name for p in classifier_run.iterdir()}
    assert {"model.safetensors", "metrics.json", "config.json", "training.log", "report.html",
            "training_curves.png", "filters.png", "confusion_matrix.png"} <= names
    metrics = json.loads((classifier_run / "metrics.json").read_text())
    assert metrics["model"] == "classifier" and metrics["test_accuracy"] > 0.85
    config = json.loads((classifier_run / "config.json").read_text())
    assert config["params"]["hidden_layer_sizes"] == [48] and config["params"]["pretrain_n_iter"] == 3
    assert load(classifier_run / "model.safetensors").hidden_layer_sizes == (48,)
    assert len((classifier_run / "training.log").read_text().splitlines()) >= 8
    html = (classifier_run / "report.html").read_text()
    pngs = sorted(p for p in classifier_run.iterdir() if p.suffix == ".png")
    embedded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(embedded) == len(pngs)
    assert {base64.b64decode(e) for e in embedded} == {p.read_bytes() for p in pngs}
    assert all(p.read_bytes()[:8] == PNG for p in pngs)


def test_train_from_a_toml_config(tmp_path):
    config = tmp_path / "dbn.toml"
    config.write_text('model = "dbn"\ndata = "digits"\nseed = 3\n[params]\nlayers = [64, 32, 16]\nn_iter = 2\n')
    out = tmp_path / "dbn"
    assert main(["train", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    model = load(out / "model.safetensors")
    assert [r.n_components for r in model.rbms_] == [32, 16] and model.random_state == 3
    assert (out / "unit_probes_layer2.png").exists()


def test_evaluate_with_nudged_test_set(classifier_run, tmp_path):
    result = run("evaluate", str(classifier_run / "model.safetensors"), "--data", "digits",
                 "--nudge", "--out", str(tmp_path / "ev"), "--quiet")
    assert result.returncode == 0, result.stderr
    accuracies = [float(x) for x in re.findall(r"accuracy (0\.\d+) on", result.stdout)]
    assert len(accuracies) == 2 and accuracies[1] < accuracies[0]  # shifted digits are harder
    report = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert report["nudged test"]["n"] == 4 * report["test"]["n"]
    assert (tmp_path / "ev" / "confusion_nudged_test.png").read_bytes()[:8] == PNG


def test_predict_writes_a_kaggle_submission(classifier_run, tmp_path):
    ds = load_dataset("digits")
    test_csv = tmp_path / "test.csv"
    header = ",".join(f"pixel{i}" for i in range(64))
    rows = "\n".join(",".join(str(int(v)) for v in x) for x in np.round(ds.X_test[:20] * 255))
    test_csv.write_text(header + "\n" + rows + "\n")
    out = tmp_path / "submission.csv"
    result = run("predict", str(classifier_run / "model.safetensors"), str(test_csv), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        table = list(csv.reader(f))
    assert table[0] == ["ImageId", "Label"] and [r[0] for r in table[1:]] == [str(i) for i in range(1, 21)]
    predicted = np.array([int(r[1]) for r in table[1:]])
    assert np.mean(predicted == ds.y_test[:20]) >= 0.75


def write_digit_png(path, image, size=None):
    picture = Image.fromarray((image.reshape(8, 8) * 255).astype(np.uint8))
    if size:
        picture = picture.resize(size)
    picture.save(path)
    return path


def test_predict_and_reconstruct_images(classifier_run, tmp_path):
    ds = load_dataset("digits")
    files = [str(write_digit_png(tmp_path / f"d{i}.png", ds.X_test[i])) for i in range(3)]
    result = run("predict", str(classifier_run / "model.safetensors"), *files)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 3
    out = tmp_path / "rec.png"
    result = run("reconstruct", str(classifier_run / "model.safetensors"), *files, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == PNG


def test_sample_grid_and_chain(classifier_run, tmp_path):
    grid, chain = tmp_path / "s.png", tmp_path / "chain.gif"
    result = run("sample", str(classifier_run / "model.safetensors"), "--n-samples", "9",
                 "--burn-in", "30", "--out", str(grid), "--chain", str(chain))
    assert result.returncode == 0, result.stderr
    assert grid.read_bytes()[:8] == PNG
    assert Image.open(chain).n_frames > 1


def test_plot_writes_every_picture(classifier_run, tmp_path):
    result = run("plot", str(classifier_run / "model.safetensors"), "--data", "digits",
                 "--out", str(tmp_path / "plots"), "--quiet")
    assert result.returncode == 0, result.stderr
    listed = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert len(listed) >= 5 and all(open(p, "rb").read(8) == PNG for p in listed)


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "missing.safetensors", "--data", "digits"], "model file not found"),
        (["train", "--config", "nope.toml"], "config file not found"),
        (["train", "--model", "classifier", "--data", "digits", "--set", "dropuot=0.2"],
         "unknown parameter(s) ['dropuot']"),
        (["train", "--model", "svm"], "invalid choice: 'svm'"),
        (["train", "--layers", "10,x"], "--layers expects comma-separated whole numbers"),
        (["sample", "model.safetensors", "--burn-in", "-3"], "expected a number >= 1"),
    ],
)
def test_command_mistakes_give_one_line(tmp_path, monkeypatch, capsys, args, message):
    from test_cli import run_in_process

    monkeypatch.chdir(tmp_path)
    code, _, err = run_in_process(args, capsys)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not any(p.name.endswith(".partial") for p in tmp_path.rglob("*"))


def test_bad_toml_and_wrong_image_size(classifier_run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("model = \n")
    result = run("train", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "bad.toml is not valid TOML" in result.stderr
    big = write_digit_png(tmp_path / "big.png", np.zeros(64), size=(20, 20))
    result = run("predict", str(classifier_run / "model.safetensors"), str(big))
    assert result.returncode == 1 and "big.png" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "pass --resize" in result.stderr and "resize=True" not in result.stderr  # the shell's words
    assert run("predict", str(classifier_run / "model.safetensors"), str(big), "--resize").returncode == 0


def test_a_failing_train_leaves_no_run_folder(tmp_path, monkeypatch):
    import deepbelief.runs.train as train

    def explode(*args, **kwargs):
        raise ValueError("boom while drawing")

    monkeypatch.setattr(train, "model_pictures", explode)
    code = main(["train", "--model", "rbm", "--data", "digits", "--epochs", "1", "--out",
                 str(tmp_path / "run"), "--quiet"])
    assert code == 1
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_a_model_that_does_not_classify(tmp_path):
    assert main(["train", "--model", "rbm", "--data", "digits", "--epochs", "1", "--layers", "8",
                 "--out", str(tmp_path / "rbm"), "--quiet"]) == 0
    result = run("evaluate", str(tmp_path / "rbm" / "model.safetensors"), "--data", "digits")
    assert result.returncode == 1 and "RBM models do not classify" in result.stderr


def test_sample_refuses_a_classifier_trained_without_pretraining(tmp_path):
    assert main(["train", "--model", "classifier", "--data", "digits", "--epochs", "1", "--layers",
                 "8", "--set", "pretrain=false", "--out", str(tmp_path / "clf"), "--quiet"]) == 0
    result = run("sample", str(tmp_path / "clf" / "model.safetensors"), "--out",
                 str(tmp_path / "s.png"))
    assert result.returncode == 1
    assert "DBNClassifier model has no generative part" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "s.png").exists()

def test_sample_seed_makes_the_picture_reproducible(classifier_run, tmp_path):
    model = str(classifier_run / "model.safetensors")
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("1", "1", "2")):
        assert main(["sample", model, "--burn-in", "20", "--seed", seed, "--device", "cpu",
                     "--out", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()


def test_flags_override_the_config_file_and_layers_mean_what_the_model_needs():
    from deepbelief.runs.train import merge_config

    base = {"model": "classifier", "seed": 3, "params": {"n_iter": 5, "dropout": 0.1}}
    merged = merge_config(base, layers=(64, 32), params={"n_iter": 2}, device="cpu")
    assert merged["params"] == {"n_iter": 2, "dropout": 0.1, "hidden_layer_sizes": (64, 32)}
    assert merged["seed"] == 3 and merged["device"] == "cpu" and merged["data"] == "mnist"
    assert base["params"] == {"n_iter": 5, "dropout": 0.1}  # the caller's dict is not changed
    assert merge_config(model="rbm", layers=(50,))["params"] == {"n_components": 50}
    assert merge_config(model="dbn", layers=(64, 8))["params"] == {"layers": (64, 8)}


def test_evaluate_log_likelihood_of_an_rbm_matches_the_exact_value(tmp_path):
    """8 hidden units: the exact log Z sums 256 hidden states, so the AIS figure can be checked."""
    import torch

    from deepbelief._core import ais
    from deepbelief.models import likelihood

    assert main(["train", "--model", "rbm", "--data", "digits", "--epochs", "5", "--layers", "8",
                 "--out", str(tmp_path / "rbm"), "--quiet"]) == 0
    model_file = tmp_path / "rbm" / "model.safetensors"
    result = run("evaluate", str(model_file), "--data", "digits", "--log-likelihood",
                 "--betas", "2000", "--runs", "50", "--quiet")
    assert result.returncode == 0, result.stderr
    printed = float(re.search(r"test log-likelihood \(AIS estimate\): (-?\d+\.\d+) nats", result.stdout)[1])
    rbm = load(model_file)
    W, b, c = (torch.as_tensor(a, dtype=torch.float64) for a in
               (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    X = likelihood.binarize(load_dataset("digits").X_test, "sample", random_state=0)
    exact = float(ais.log_likelihood(torch.as_tensor(X), W, b, c, "bernoulli", "bernoulli",
                                     float(ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli"))))
    assert abs(printed - exact) < 0.1, (printed, exact)


def test_evaluate_log_likelihood_of_a_dbn_is_a_bound(tmp_path):
    assert main(["train", "--model", "dbn", "--data", "digits", "--epochs", "2", "--layers", "64,16,8",
                 "--out", str(tmp_path / "dbn"), "--quiet"]) == 0
    result = run("evaluate", str(tmp_path / "dbn" / "model.safetensors"), "--data", "digits",
                 "--log-likelihood", "--betas", "500", "--runs", "20", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "lower bound" in result.stdout and "nats per image" in result.stdout


def test_a_run_with_a_validation_split_says_when_and_why_training_stopped(tmp_path):
    out = tmp_path / "clf"
    assert main(["train", "--model", "classifier", "--data", "digits", "--layers", "32",
                 "--set", "pretrain_n_iter=2", "--set", "n_iter=60", "--set", "validation_fraction=0.2",
                 "--set", "n_iter_no_change=2", "--set", "learning_rate=0.05", "--out", str(out),
                 "--quiet"]) == 0
    stopped = json.loads((out / "metrics.json").read_text())["training_stopped"]
    model = load(out / "model.safetensors")
    assert stopped == model.stopping_ and stopped["planned_epochs"] == 60
    assert stopped["stopped_early"] and stopped["epochs_run"] < 60 and "n_iter_no_change" in stopped["reason"]
    validation = model.history_["validation_error"]
    assert stopped["best_epoch"] == 1 + int(np.argmin(validation))
    assert validation[stopped["best_epoch"] - 1] == min(validation)
    report = (out / "report.html").read_text()
    assert "early stopping" in report and "data:image/png;base64" in report


def test_a_run_report_includes_the_log_likelihood_when_asked(tmp_path):
    config = tmp_path / "rbm.toml"
    config.write_text('model = "rbm"\ndata = "digits"\nlog_likelihood = 500\n[params]\nn_components = 8\nn_iter = 3\n')
    out = tmp_path / "rbm"
    assert main(["train", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_log_likelihood_kind"] == "AIS estimate" and metrics["ais_betas"] == 500
    assert metrics["log_z_3_sigma"][0] <= metrics["log_z"] <= metrics["log_z_3_sigma"][1]
    assert metrics["test_log_likelihood"] < 0 and "test_log_likelihood" in (out / "report.html").read_text()


def test_train_resumes_an_interrupted_rbm_run(tmp_path):
    from deepbelief import RBM

    out = tmp_path / "rbm"
    out.mkdir()
    X = load_dataset("digits").X_train
    RBM(8, n_iter=2, batch_size=100, random_state=0).fit(X).save(out / "checkpoint.safetensors")
    assert main(["train", "--model", "rbm", "--data", "digits", "--epochs", "4", "--resume",
                 "--out", str(out), "--quiet"]) == 0
    model = load(out / "model.safetensors")
    assert model.n_iter_ == 4 and model.n_components == 8
    assert not (out / "checkpoint.safetensors").exists() and (out / "report.html").exists()


@pytest.fixture(scope="module")
def mnist_rbm(tmp_path_factory):
    from deepbelief import RBM
    from deepbelief.datasets import load_mnist_sample

    path = tmp_path_factory.mktemp("rbm") / "rbm.safetensors"
    RBM(16, n_iter=2, random_state=0, device="cpu", n_jobs=1).fit(load_mnist_sample().X[:500]).save(path)
    return str(path)


def test_sample_from_data_rows_keeps_several_samples_per_chain_and_scores_them(mnist_rbm, tmp_path):
    out = tmp_path / "s.png"
    assert main(["sample", mnist_rbm, "--n-samples", "4", "--burn-in", "5", "--thin", "2",
                 "--samples-per-chain", "3", "--init", "data", "--data", "mnist-sample",
                 "--out", str(out), "--device", "cpu"]) == 0
    assert out.read_bytes()[:8] == PNG


def test_sample_prints_the_start_and_the_score_of_digits(mnist_rbm, tmp_path):
    result = run("sample", mnist_rbm, "--n-samples", "6", "--burn-in", "3", "--init", "biases",
                 "--out", str(tmp_path / "s.png"))
    assert result.returncode == 0, result.stderr
    assert "samples: 6 chains from the visible biases alone, after 3 Gibbs steps" in result.stdout
    assert re.search(r"sample quality \(shipped MNIST classifier\): \d of 6 samples are confident "
                     r"digits \(top digit probability >= 0\.9\), of \d class.*; mean confidence "
                     r"[01]\.\d{3}, inception score \d+\.\d\d$", result.stdout, re.M)


def test_sample_from_persistent_chains_of_a_cd_model_is_one_line(mnist_rbm, tmp_path):
    result = run("sample", mnist_rbm, "--init", "persistent", "--out", str(tmp_path / "s.png"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "init='persistent' starts from the chains that PCD training keeps" in result.stderr


def test_the_report_of_an_rbm_on_digits_shows_its_samples_and_their_score(tmp_path):
    out = tmp_path / "rbm"
    assert main(["train", "--model", "rbm", "--data", "mnist-sample", "--epochs", "1", "--layers",
                 "16", "--set", "method=pcd", "--out", str(out), "--quiet", "--threads", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    quality = metrics["sample_quality"]
    assert quality["n_samples"] == 100 and 0 <= quality["mean_confidence"] <= 1
    assert len(quality["class_counts"]) == 10 and quality["n_classes"] <= 10
    assert (out / "samples.png").read_bytes()[:8] == PNG
    html = (out / "report.html").read_text()
    assert "Samples: 100 chains from the persistent chains kept from training, after 1,000 Gibbs " \
           "steps; shipped MNIST classifier: mean confidence" in html
