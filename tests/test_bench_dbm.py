"""bench/dbm_mnist.py still runs: its ``--quick`` path on 2,000 MNIST images (DEEPBELIEF_DATA)."""

import json

from test_bench import load_script, mnist  # noqa: F401  (mnist: the skip-without-data fixture)


def test_dbm_mnist(monkeypatch, tmp_path):
    out = tmp_path / "result.json"
    result = load_script("dbm_mnist", monkeypatch).main(
        ["--quick", "--classifier", "--classifier-seeds", "2", "--verbose", "0", "--save-dir",
         str(tmp_path / "models"), "--snapshots", "1", "--out", str(out)])
    assert json.loads(out.read_text())["benchmark"] == "dbm_mnist"
    assert result["train_size"] == 2000 and result["layers"] == [784, 50, 100]
    dbm = result["dbm"]
    assert dbm["joint_epochs"] == 2 and dbm["test_bound"] < 0 and dbm["n_betas"] == 200
    assert dbm["test_bound_3sigma"][0] <= dbm["test_bound"]
    assert result["rbm"]["epochs"] == 2 and result["rbm"]["test_log_probability"] < 0
    classifiers = result["classifiers"]
    assert classifiers["seeds"] == [0, 1] and classifiers["fine_tuning"]["precision"] == "float32"
    for name in ("dbm_classifier", "dbn_classifier"):
        runs = classifiers[name]["runs"]
        assert [r["seed"] for r in runs] == [0, 1]
        assert 0 <= classifiers[name]["test_error"] < 0.9
        assert classifiers[name]["test_error"] == sum(r["test_error"] for r in runs) / 2
    saved = {p.name for p in (tmp_path / "models").iterdir()}
    assert {"dbm.safetensors", "dbm_epoch1.safetensors", "rbm.safetensors",
            "dbm_classifier.safetensors", "dbn_classifier.safetensors",
            "dbm_classifier_seed1.safetensors", "dbn_classifier_seed1.safetensors"} <= saved
    again = load_script("dbm_mnist", monkeypatch).main(
        ["--quick", "--verbose", "0", "--load", str(tmp_path / "models" / "dbm.safetensors"),
         "--rbm-epochs", "0"])
    assert again["dbm"]["test_bound"] == dbm["test_bound"]
