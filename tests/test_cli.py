"""The command line as a user runs it: outputs that exist and parse, one-line errors."""

import json
import os
import re
import subprocess
import sys

import pytest

from deepbelief import RBM, load
from deepbelief.cli import main
from deepbelief.datasets import mnist

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args, env=None, cwd=None):
    """``python -m deepbelief ARGS`` in a subprocess, as a user would type it."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "deepbelief", *args], capture_output=True, text=True,
        env=full_env, cwd=cwd, timeout=300,
    )


def run_in_process(args, capsys):
    """``deepbelief ARGS`` through the entry point in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own exit on a bad flag
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_rbm_on_digits_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run("train-rbm", "--data", "digits", "--n-components", "32", "--epochs", "3",
                 "--batch-size", "20", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "trained RBM(32)" in result.stdout and result.stderr == ""
    for name in ("filters.png", "reconstructions.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 3 and len(metrics["reconstruction_error_per_epoch"]) == 3
    assert metrics["data"] == "digits" and metrics["n_train"] == 1437
    model = load(out / "model.safetensors")
    assert model.n_components == 32 and model.components_.shape == (32, 64)
    assert not (out / "checkpoint.safetensors").exists()
    written = ["filters.png", "metrics.json", "model.safetensors", "reconstructions.png"]
    assert sorted(p.name for p in out.iterdir()) == [".deepbelief-run.json", *written]
    assert json.loads((out / ".deepbelief-run.json").read_text())["files"] == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock or staging left


def run_on_a_terminal(*args):
    """``python -m deepbelief ARGS`` with stderr on a pseudo-terminal: (exit code, stderr)."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    with subprocess.Popen([sys.executable, "-m", "deepbelief", *args], stdout=subprocess.DEVNULL,
                          stderr=follower) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=300)
    os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


def test_progress_bar_shows_on_a_terminal_unless_quiet(tmp_path):
    args = ["train-rbm", "--data", "digits", "--n-components", "8", "--epochs", "2"]
    code, loud = run_on_a_terminal(*args, "--out", str(tmp_path / "a"))
    assert code == 0 and "RBM" in loud and "batch" in loud
    code, quiet = run_on_a_terminal(*args, "--out", str(tmp_path / "b"), "--quiet")
    assert code == 0 and quiet == ""


def test_no_progress_bar_padding_where_stderr_is_a_file_unless_asked(tmp_path):
    args = ["train-rbm", "--data", "digits", "--n-components", "8", "--epochs", "2"]
    piped = run(*args, "--out", str(tmp_path / "a"))
    assert piped.returncode == 0 and piped.stderr == ""
    asked = run(*args, "--out", str(tmp_path / "b"), env={"DEEPBELIEF_PROGRESS": "1"})
    assert "RBM" in asked.stderr and "batch" in asked.stderr


def test_resume_finishes_an_interrupted_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    from deepbelief.datasets import load_dataset

    X = load_dataset("digits").X_train
    partial = RBM(16, n_iter=2, batch_size=100, random_state=0).fit(X)
    partial.save(out / "checkpoint.safetensors")
    assert main(["train-rbm", "--data", "digits", "--out", str(out), "--epochs", "5",
                 "--resume", "--quiet"]) == 0
    model = load(out / "model.safetensors")
    assert model.n_iter_ == 5 and len(model.history_["epoch"]) == 5
    assert model.n_components == 16  # the checkpoint's settings, not the flags' defaults
    assert not (out / "checkpoint.safetensors").exists()


def test_demo_on_digits(tmp_path):
    result = run("demo", "--data", "digits", "--out", str(tmp_path / "demo"), "--quiet")
    assert result.returncode == 0, result.stderr
    accuracies = [float(line.rsplit(" ", 1)[1]) for line in result.stdout.splitlines() if "accuracy" in line]
    assert len(accuracies) == 2 and min(accuracies) > 0.9
    assert (tmp_path / "demo" / "filters.png").read_bytes()[:8] == PNG_MAGIC
    assert "pictures:" in result.stdout


def test_demo_falls_back_to_the_shipped_mnist_sample_with_a_notice(tmp_path, monkeypatch, capsys):
    """No MNIST reachable: the demo uses the shipped sample and RBM features beat raw pixels."""
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "no-mnist-here"))
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])  # nothing listens
    assert main(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == 0
    captured = capsys.readouterr()
    notice = [line for line in captured.err.splitlines() if line]
    assert len(notice) == 1 and "MNIST is not in" in notice[0] and "DEEPBELIEF_DATA" in notice[0]
    assert "data: mnist-sample (3000 training / 2000 test images)" in captured.out
    rbm, raw = (float(re.search(pattern + r": test accuracy (0\.\d+)", captured.out)[1])
                for pattern in (r"RBM \+ logistic regression", "raw pixels"))
    assert rbm > raw + 0.02, (rbm, raw)  # seed 000: 93% against 89%
    nudged = re.search(r"nudged one pixel.*regression (0\.\d+), raw pixels (0\.\d+)", captured.out)
    assert float(nudged[1]) < rbm and float(nudged[2]) < raw and float(nudged[1]) > float(nudged[2])


@pytest.mark.parametrize(
    "args, message",
    [
        (["train-rbm", "--data", "missing.csv"], "not found"),
        (["train-rbm", "--data", "imagenet"], "unknown data 'imagenet'"),
        (["train-rbm", "--epochs", "zero"], "--epochs: expected a whole number"),
        (["train-rbm", "--epochs", "0"], "expected a number >= 1"),
        (["train-rbm", "--momentum", "0.5,1.2"], "momentum must be in [0, 1)"),
        (["train-rbm", "--method", "gibbs"], "invalid choice: 'gibbs'"),
        (["train-rbm", "--data", "digits", "--resume"], "nothing to resume"),
        (["train-rbm", "--no-such-flag"], "unrecognized arguments"),
        (["demo", "--data", "cifar"], "invalid choice"),
    ],
)
def test_mistakes_give_one_line_and_a_nonzero_exit(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_in_process([*args, "--out", str(tmp_path / "out")], capsys)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_a_finished_run_is_not_overwritten_by_accident(tmp_path):
    out = tmp_path / "run"
    base = ["train-rbm", "--data", "digits", "--n-components", "8", "--epochs", "1", "--out", str(out), "--quiet"]
    assert main(base) == 0
    before = (out / "model.safetensors").read_bytes()
    result = run(*base)
    assert result.returncode == 1 and "--overwrite" in result.stderr
    assert (out / "model.safetensors").read_bytes() == before
    assert main(base + ["--overwrite", "--seed", "1"]) == 0
    assert (out / "model.safetensors").read_bytes() != before


def test_bad_csv_gives_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,p0,p1,p2,p3\n1,0,0,0,0\n2,0,x,0,0\n")
    result = run("train-rbm", "--data", str(bad), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "bad.csv" in result.stderr


def test_console_script_and_module_agree():
    from shutil import which

    module = run("--help")
    assert module.returncode == 0 and "train-rbm" in module.stdout and "demo" in module.stdout
    script = which("deepbelief", path=os.path.dirname(sys.executable))
    if script:
        assert subprocess.run([script, "--help"], capture_output=True, text=True).stdout == module.stdout
    assert "deepbelief 0." in run("--version").stdout


@pytest.mark.mnist
def test_rbm_500_logistic_on_10000_mnist_images():
    """The CI-sized version of the classic RBM + logistic regression result."""
    if not os.environ.get("DEEPBELIEF_DATA"):
        pytest.skip("set DEEPBELIEF_DATA to a folder with the MNIST files")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    d = mnist.load_mnist(download=False, verbose=0)
    X, y = d.X_train[:10000], d.y_train[:10000]
    pipe = Pipeline([
        ("rbm", RBM(500, n_iter=10, learning_rate=0.05, batch_size=50, momentum=(0.5, 0.9), random_state=0)),
        ("lr", LogisticRegression(max_iter=100, C=1.0)),
    ]).fit(X, y)
    accuracy = pipe.score(d.X_test, d.y_test)
    raw = LogisticRegression(max_iter=100).fit(X, y).score(d.X_test, d.y_test)
    assert accuracy >= 0.95, accuracy  # measured: 0.959 (raw pixels: 0.903)
    assert accuracy > raw + 0.03, (accuracy, raw)


def test_threads_flag_limits_torch_for_the_command_and_restores_it(tmp_path, monkeypatch):
    import torch

    seen = []
    original = RBM.fit

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RBM, "fit", spy)
    before = torch.get_num_threads()
    assert main(["train-rbm", "--data", "digits", "--n-components", "8", "--epochs", "1", "--threads", "1",
                 "--precision", "bfloat16", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert seen == [1] and torch.get_num_threads() == before
    assert load(tmp_path / "run" / "model.safetensors").precision == "bfloat16"
