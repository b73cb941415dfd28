"""precision="int8": the quantization, the products, exact-enumeration checks, reproducibility.

Its PCD checkpoint test is test_precision.test_reduced_precision_pcd_checkpoint_resumes_exactly."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from deepbelief import DBN, RBM, DBNClassifier, load
from deepbelief._core import cd_int8
from deepbelief._core.backend import RandomSource
from deepbelief._core.cd_int8 import UNIT, QuantizedWeights, quantize_units, weight_product
from deepbelief._core.precision import compute_dtype
from test_precision import GRADIENT_ATOL, KL_MARGIN, bars_and_stripes_kl, exact_cd_gradient
from test_rbm_exact import DATA, tiny_rbm

pytestmark = pytest.mark.skipif(not cd_int8.int8_supported(),
                                reason="this torch has no exact torch._int_mm on this CPU")


def test_units_are_rounded_to_a_127th_and_states_are_exact():
    x = torch.tensor([0.0, 1.0, 0.5, 0.3, 1 / 254 - 1e-4, 1 / 254 + 1e-4])
    q = quantize_units(x, torch.empty(6, dtype=torch.int8))
    assert q.tolist() == [0, 127, 64, 38, 0, 1]
    assert (q.float() / UNIT - x).abs().max() <= 0.5 / UNIT + 1e-7


def test_quantized_weights_are_within_half_a_step_and_follow_refresh():
    W = torch.randn(30, 20)
    q = QuantizedWeights(W, torch.zeros(20), torch.zeros(30))
    assert q.scale == pytest.approx(float(W.abs().max()) / UNIT)
    assert int(q.Wq.abs().max()) == UNIT
    assert (q.Wq.float() * q.scale - W).abs().max() <= q.scale / 2 * (1 + 1e-5)
    W.mul_(3)
    q.refresh(W)
    assert q.scale == pytest.approx(float(W.abs().max()) / UNIT)
    assert (q.Wq.float() * q.scale - W).abs().max() <= q.scale / 2 * (1 + 1e-5)


def test_weight_product_is_exact_and_slices_long_sums(monkeypatch):
    g = torch.Generator().manual_seed(0)
    A = torch.randint(-127, 128, (50, 7), generator=g, dtype=torch.int8)
    B = torch.randint(-127, 128, (50, 9), generator=g, dtype=torch.int8)
    exact = A.long().T @ B.long()
    out = torch.empty(7, 9, dtype=torch.int32)
    assert torch.equal(weight_product(A, B, out).long(), exact)
    monkeypatch.setattr(cd_int8, "MAX_TERMS", 16)  # int32 overflow guard: sums in slices
    assert torch.equal(weight_product(A, B, out).long(), exact)


def int8_cd_gradient(rbm, data, k, n_copies, seed=0):
    """The estimator's CD-k gradient with int8 products, as float64 arrays."""
    rbm.set_params(k=k)
    v0 = torch.tensor(np.repeat(data, n_copies, axis=0) * UNIT, dtype=torch.int8)
    params = [torch.tensor(p) for p in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)]
    with torch.inference_mode():
        stats, _, _ = rbm._statistics(v0, params, None, RandomSource(seed, "cpu"), torch.int8)
        grads = (stats.weight_gradient(), stats.grad_b, stats.grad_c)
    return [g.numpy().astype(float) for g in grads]


def test_int8_cd_gradient_matches_exact_enumeration():
    # The float32 and bfloat16 twins: test_rbm_exact / test_precision (CD-100, 8,000 copies).
    rbm = tiny_rbm()
    for grad, expected in zip(int8_cd_gradient(rbm, DATA, k=100, n_copies=8000), exact_cd_gradient(rbm)):
        np.testing.assert_allclose(grad, expected, atol=GRADIENT_ATOL)


def test_int8_learns_bars_and_stripes_as_well_as_float32():
    assert bars_and_stripes_kl("int8") < 0.35 + KL_MARGIN


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_same_seed_gives_identical_weights_in_int8(method):
    X = np.random.RandomState(0).rand(120, 20)
    a, b, c = (
        RBM(7, n_iter=3, method=method, k=2, random_state=seed, device="cpu", precision="int8").fit(X)
        for seed in (42, 42, 43)
    )
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_hidden_, b.intercept_hidden_)
    assert not np.array_equal(a.components_, c.components_)
    f32 = RBM(7, n_iter=3, method=method, k=2, random_state=42, device="cpu", precision="float32").fit(X)
    assert not np.array_equal(a.components_, f32.components_)
    np.testing.assert_allclose(a.components_, f32.components_, atol=0.05)


def test_int8_from_a_memmap_equals_in_memory(tmp_path):
    X = np.random.RandomState(2).rand(130, 15).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    params = {"n_iter": 2, "batch_size": 20, "random_state": 0, "device": "cpu", "precision": "int8"}
    a = RBM(5, **params).fit(X)
    b = RBM(5, **params).fit(np.load(tmp_path / "X.npy", mmap_mode="r"))
    np.testing.assert_array_equal(a.components_, b.components_)


def test_int8_features_are_as_good_as_float32_on_the_digits():
    """An RBM with its defaults, and a DBN's top layer: a logistic regression on the features
    scores within 2 (RBM) and 3 (DBN) points of float32's (measured: 88.61 against 88.78%, and
    54.61 against 55.95% for this short DBN)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    scores = {}
    for precision in ("float32", "int8"):
        for name, model in (("rbm", RBM(100, random_state=0, device="cpu", precision=precision)),
                            ("dbn", DBN([64, 100, 100], n_iter=20, random_state=0, device="cpu",
                                        precision=precision))):
            model.fit(X[:1200])
            clf = LogisticRegression(max_iter=2000).fit(model.transform(X[:1200]), y[:1200])
            scores[name, precision] = clf.score(model.transform(X[1200:]), y[1200:])
    assert scores["rbm", "int8"] > 0.85
    assert scores["rbm", "int8"] >= scores["rbm", "float32"] - 0.02
    assert scores["dbn", "int8"] >= scores["dbn", "float32"] - 0.03


def test_int8_refuses_what_it_cannot_do():
    X = np.random.RandomState(0).rand(20, 6)
    with pytest.raises(ValueError, match="needs bernoulli visible and hidden units"):
        RBM(3, hidden="gaussian", precision="int8").fit(X)
    with pytest.raises(ValueError, match="needs bernoulli visible and hidden units"):
        DBN([6, 4, 3], hidden=["bernoulli", "gaussian"], precision="int8").fit(X)
    with pytest.raises(ValueError, match="CPUs only"):
        compute_dtype("int8", torch.device("cuda"), 0)
    with pytest.raises(InvalidParameterError, match="precision"):  # backprop has no int8 path
        DBNClassifier((4,), precision="int8").fit(X, np.arange(20) % 2)
    rbm = RBM(3, hidden="gaussian", precision="int8")
    with pytest.raises(ValueError):
        rbm.fit(X)
    assert not hasattr(rbm, "components_")  # refused before anything was initialised


def test_the_command_line_trains_rbms_in_int8_and_refuses_it_for_classifiers(tmp_path, capsys):
    from deepbelief.cli import main

    assert main(["train-rbm", "--data", "digits", "--n-components", "8", "--epochs", "2",
                 "--precision", "int8", "--out", str(tmp_path / "rbm"), "--quiet"]) == 0
    assert load(tmp_path / "rbm" / "model.safetensors").get_params()["precision"] == "int8"
    assert main(["train", "--model", "classifier", "--data", "digits", "--layers", "8",
                 "--precision", "int8", "--out", str(tmp_path / "clf"), "--quiet"]) == 1
    assert "precision" in capsys.readouterr().err and not (tmp_path / "clf").exists()
