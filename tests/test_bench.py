"""The benchmark scripts still run: each one's ``--quick`` path on a few hundred MNIST images.

The full runs take minutes to half an hour and are recorded in BENCHMARKS.md; these only catch
a script that no longer matches the library (a renamed parameter, a changed result key).
"""

import importlib.util
import json
import os
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(autouse=True)
def mnist():
    if not os.environ.get("DEEPBELIEF_DATA"):
        pytest.skip("set DEEPBELIEF_DATA to a folder with the MNIST files")


def load_script(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their neighbour _common
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name, monkeypatch, tmp_path, *flags):
    out = tmp_path / "result.json"
    result = load_script(name, monkeypatch).main(
        ["--quick", "--train-size", "2000", "--verbose", "0", "--out", str(out), *flags]
    )
    assert json.loads(out.read_text())["benchmark"] == name
    assert result["train_size"] == 2000 and result["quick"]
    return result


def test_dbn_mnist(monkeypatch, tmp_path):
    result = run("dbn_mnist", monkeypatch, tmp_path)
    assert result["layers"] == [784, 500, 500, 2000, 10]
    assert 0.0 <= result["test_error"] < 0.85  # chance is 0.9; 2,000 images and 3 epochs are few


def test_nolearn_split(monkeypatch, tmp_path):
    result = run("nolearn_split", monkeypatch, tmp_path, "--no-pretrain")
    assert result["test_size"] == 14_000 and not result["pretrain"]
    assert 0.3 < result["test_accuracy"] <= 1.0


def test_autoencoder_mnist(monkeypatch, tmp_path):
    result = run("autoencoder_mnist", monkeypatch, tmp_path, "--watch", "1")
    assert [epoch for epoch, _ in result["test_error_by_epoch"]] == [1, 2, 3]
    assert result["test_error"] == pytest.approx(result["test_error_by_epoch"][-1][1])
    assert result["test_error"] < result["pretrained_test_error"]


def test_dask_search(monkeypatch, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "result.json"
    result = load_script("dask_search", monkeypatch).main(
        ["--quick", "--n-images", "300", "--modes", "joblib,dask", "--verbose", "0",
         "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["n_searched"] == 180 and set(result["modes"]) == {"joblib", "dask"}
    assert len(result["modes"]["dask"]["rbm"]["scores"]["mean_test_score"]) == 8
    assert result["identical"] == {"dask": True}  # one thread per worker on both backends


def test_defaults(monkeypatch, tmp_path):
    result = run("defaults", monkeypatch, tmp_path, "--only", "mnist-classifier", "mnist-rbm-logistic",
                 "sample-demo")
    assert set(result["results"]) == {"mnist-classifier", "mnist-rbm-logistic", "sample-demo"}
    demo = result["results"]["sample-demo"]
    assert demo["deepbelief"] > demo["reference"]  # RBM features beat raw pixels on the sample


def test_rbm_likelihood(monkeypatch, tmp_path):
    result = run("rbm_likelihood", monkeypatch, tmp_path, "--dbn")
    low, high = result["test_log_probability_3sigma"]
    assert low <= result["test_log_probability"] <= high < 0
    assert result["log_z_3sigma"][0] <= result["log_z"] <= result["log_z_3sigma"][1]
    assert result["dbn"]["layers"] == [784, 50, 100] and result["dbn"]["test_lower_bound"] < 0


@pytest.fixture
def one_thread():
    """--threads 1 (tiny models on a busy machine run several times faster on one thread);
    torch's thread count is put back after the test."""
    import torch

    before = torch.get_num_threads()
    yield ["--threads", "1"]
    torch.set_num_threads(before)


def test_dbn_likelihood(monkeypatch, tmp_path, one_thread):
    result = run("dbn_likelihood", monkeypatch, tmp_path, "--ais-check", "--seed", "1", *one_thread)
    assert result["top"]["components"] == 100 and result["top"]["propagate"] == "sample"
    assert result["dbn_test_bound"] < 0 and result["rbm_test"] < 0
    assert result["gain"] == pytest.approx(result["dbn_test_bound"] - result["rbm_test"])


def test_sample_quality(monkeypatch, tmp_path, one_thread):
    result = run("sample_quality", monkeypatch, tmp_path, "--out-dir", str(tmp_path / "s"), *one_thread)
    rows = result["rows"]
    assert rows["real test digits"]["mean_confidence"] > 0.9 and rows["uniform noise"]["n_classes"] == 0
    assert {"CD-1 RBM, library defaults, from noise", "CD-1 RBM, library defaults, from data"} <= set(rows)
    assert len(list((tmp_path / "s").glob("*.png"))) == 3  # noise, biases, data: CD has no chains


def test_memmap_throughput(monkeypatch, tmp_path):
    out = tmp_path / "result.json"
    result = load_script("memmap_throughput", monkeypatch).main(
        ["--rows", "3000", "--hidden", "50", "--threads", "1", "--dir", str(tmp_path), "--out", str(out)])
    assert json.loads(out.read_text())["benchmark"] == "memmap_throughput"
    assert result["rows"] == 3000 and result["memmap"]["rows"] == 3000
    assert result["same_model"]  # streamed from the file or from memory: the same weights


def test_shared_cores(monkeypatch, tmp_path):
    result = load_script("shared_cores", monkeypatch).main(["--images", "300", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(result))
    for threads in ("default threads", "n_jobs=1"):
        assert len(result[f"one alone, {threads}"]) == 1 and len(result[f"two at once, {threads}"]) == 2
        assert all(s > 0 for s in result[f"two at once, {threads}"])


def test_seed000_pipeline(monkeypatch, tmp_path):
    result = load_script("seed000_pipeline", monkeypatch).main(["--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(result))
    assert result["deepbelief"] > result["raw pixels"] and result["deepbelief defaults"] > result["raw pixels"]


def test_precision_crossover(monkeypatch, tmp_path):
    script = load_script("precision_crossover", monkeypatch)
    monkeypatch.setattr(script, "RBM_SIZES", [(16, 16), (256, 256)])
    monkeypatch.setattr(script, "NET_SIZES", [(16, 8, 3)])
    monkeypatch.setattr(script, "WORK_PER_FIT", 2e7)
    result = script.main(["--repeats", "1", "--batch-sizes", "100", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(result))
    rows = result["rows"]
    expected = [("rbm", [16, 16]), ("rbm", [256, 256]), ("backprop", [16, 8, 3])]
    assert [(r["kind"], r["layers"]) for r in rows] == expected
    assert [r["macs_per_product"] for r in rows] == [100 * 16 * 16, 100 * 256 * 256, 100 * (16 * 8 + 8 * 3) // 2]
    assert [r["auto_picks"] for r in rows] == ["float32", "bfloat16", "float32"]
    for r in rows:
        assert r["float32_us"] > 0 and r["bfloat16_us"] > 0
        assert r["bfloat16_speedup"] == pytest.approx(r["float32_us"] / r["bfloat16_us"], abs=0.01)


def test_cd1_floor(monkeypatch, tmp_path):
    result = load_script("cd1_floor", monkeypatch).main(
        ["--train-size", "1000", "--repeats", "1", "--no-compile", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(result))
    assert result["images"] == 1000 and result["compile_error"] == "RuntimeError: skipped (--no-compile)"
    for name in ("deepbelief", "eager", "stripped", "products", "sections"):
        assert result[f"{name}_seconds"] > 0
        # seconds are rounded to 0.001 and ratios to 0.01: on a fast CPU a part takes a few ms,
        # so the ratio of the rounded seconds may be far from the ratio printed
        low = (result["sklearn_seconds"] - 5e-4) / (result[f"{name}_seconds"] + 5e-4)
        high = (result["sklearn_seconds"] + 5e-4) / max(result[f"{name}_seconds"] - 5e-4, 1e-9)
        assert low - 0.005 <= result[f"{name}_speedup_vs_sklearn"] <= high + 0.005, name
    assert "compiled_seconds" not in result
    # The sectioned epoch's parts cover it: only the clock's own calls fall between them.
    parts = {k: v for k, v in result.items() if k.startswith("sections_") and k != "sections_seconds"
             and not k.endswith("speedup_vs_sklearn")}
    assert set(parts) == {f"sections_{p}_seconds" for p in
                          ("batch", "products", "sigmoids", "draws", "error", "bias_sums", "update")}
    assert sum(parts.values()) == pytest.approx(result["sections_seconds"], rel=0.1, abs=0.005)


def test_sparse_throughput(monkeypatch, tmp_path):
    out = tmp_path / "result.json"
    result = load_script("sparse_throughput", monkeypatch).main(
        ["--rows", "500", "--vocabulary", "300", "--hidden", "16", "--epochs", "1", "--threads", "1",
         "--out", str(out)])
    assert json.loads(out.read_text())["benchmark"] == "sparse_throughput"
    assert result["same_model"] and 0 < result["density"] < 0.5


def test_blowup_margins(monkeypatch, tmp_path):
    result = load_script("blowup_margins", monkeypatch).main(
        ["--quick", "--verbose", "0", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(result))
    rows = result["rows"]
    assert rows["digits: defaults"]["stopped"] is None and rows["digits: defaults"]["epochs"] == 2
    assert rows["digits: learning_rate 1e+06"]["stopped"].startswith("RBM training blew up in epoch 1")
    assert rows["digits: DBN() defaults"]["stopped"] is None
    for name, (_, bad) in load_script("blowup_margins", monkeypatch).NETS.items():
        assert rows[f"digits: {name}"]["stopped"] is None
        assert "blew up in epoch 1" in rows[f"digits: {name}, {bad}"]["stopped"]
