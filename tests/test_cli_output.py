"""What the commands print (issue 31, items 2 and 5): numbers a person reads, a quiet stop when the
reader of the output leaves early, samples counted in plain words, and an offline MNIST error
that is short and ends with the command to type next."""

import re
import subprocess
import sys

import pytest

from deepbelief import RBM
from deepbelief.cli import main
from deepbelief.datasets import load_mnist_sample, mnist
from deepbelief.models.sample_quality import SampleQuality
from deepbelief.runs import jobs

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "clf"
    assert main(["train", "--model", "classifier", "--data", "digits", "--layers", "8", "--epochs",
                 "1", "--set", "pretrain=false", "--out", str(out), "--quiet", "--threads", "1"]) == 0
    return out


def test_train_prints_numbers_rounded(classifier, tmp_path, capsys):
    assert main(["train", "--model", "rbm", "--data", "digits", "--layers", "8", "--epochs", "1",
                 "--out", str(tmp_path / "rbm"), "--quiet", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    error = re.search(r"^test_reconstruction_error_per_pixel: (\S+)$", out, re.M)[1]
    assert len(error.lstrip("0.").replace(".", "").split("e")[0]) <= 4, error  # 0.07409, not 0.0740936...
    assert not re.search(r"\d\.\d{6,}", out), out


def test_a_reader_that_leaves_early_ends_the_output_quietly(classifier, tmp_path):
    """``deepbelief predict ... | head`` and ``deepbelief --help | head``: no Broken pipe error."""
    rows = "\n".join(",".join(["0"] * 64) for _ in range(300))
    csv = tmp_path / "test.csv"
    csv.write_text(",".join(f"pixel{i}" for i in range(64)) + "\n" + rows + "\n")
    for args in (["predict", str(classifier), str(csv), "--threads", "1"], ["--help"]):
        process = subprocess.Popen([sys.executable, "-m", "deepbelief", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()  # the reader is gone before a line is written
        err = process.stderr.read().decode()
        code = process.wait(timeout=300)
        assert err == "", err
        # 128 + SIGPIPE, as a shell reports cat's; argparse itself drops a --help it cannot write
        assert code == 141 or (args == ["--help"] and code == 0), code


@pytest.fixture(scope="module")
def digit_rbm(tmp_path_factory):
    path = tmp_path_factory.mktemp("rbm") / "rbm.safetensors"
    RBM(16, n_iter=1, random_state=0, device="cpu", n_jobs=1).fit(load_mnist_sample().X[:200]).save(path)
    return str(path)


def test_sample_counts_confident_samples_in_plain_words(digit_rbm, tmp_path, monkeypatch, capsys):
    verdict = SampleQuality(n_samples=25, mean_confidence=0.81, confident_fraction=0.72, n_classes=1,
                            class_counts=(0, 18) + (0,) * 8, inception_score=1.02, threshold=0.9,
                            min_count=1)
    monkeypatch.setattr(jobs, "sample_quality", lambda grid: verdict)
    assert main(["sample", digit_rbm, "--burn-in", "2", "--out", str(tmp_path / "s.png")]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("sample quality")][0]
    assert line == ("sample quality (shipped MNIST classifier): 18 of 25 samples are confident "
                    "digits (top digit probability >= 0.9), of 1 class (digit 1: 18); mean "
                    "confidence 0.810, inception score 1.02")


def test_offline_mnist_gives_a_short_line_ending_with_the_next_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "no-mnist-here"))
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/", "http://127.0.0.1:9/b/",
                                                 "http://127.0.0.1:9/c/"])  # nothing listens
    out = str(tmp_path / "run")
    for argv, typed in [
        (["train", "--data", "mnist", "--out", out, "--quiet"],
         ["train", "--data", "mnist-sample", "--out", out, "--quiet"]),
        (["train-rbm", "--out", out, "--quiet"], ["train-rbm", "--out", out, "--quiet", "--data", "mnist-sample"]),
    ]:
        assert main(argv) == 1
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and len(lines[0].replace(str(tmp_path), "T")) < 400, err
        assert lines[0].startswith(f"deepbelief {argv[0]}: error: MNIST is not in {tmp_path / 'no-mnist-here'} "
                                   "and could not be downloaded (train-images-idx3-ubyte.gz: URLError")
        assert lines[0].count("URLError") == 1 and "; 3 mirrors tried)" in lines[0]
        assert lines[0].endswith(" ".join(["deepbelief", *typed])), lines[0]
