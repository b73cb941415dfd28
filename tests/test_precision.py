"""precision="bfloat16" against float32: exact-enumeration checks, reproducibility, model files."""

import numpy as np
import pytest
import torch

from deepbelief import RBM, load
from deepbelief._core.backend import RandomSource
from deepbelief._core.cd_int8 import int8_supported
from deepbelief._core.precision import (
    AUTO_BFLOAT16_MIN_MACS,
    compute_dtype,
    cpu_has_native_bfloat16,
    macs_per_product,
)
from test_rbm_exact import (
    BINARY_H,
    BINARY_V,
    DATA,
    exact_model_stats_bb,
    params64,
    tiny_rbm,
)
from test_rbm_training import bars_and_stripes, kl_to_uniform_data

# bfloat16 keeps 8 bits of mantissa: the products of a step are off by up to ~0.4% each, far
# below the sampling noise of CD. The tolerances below are the float32 tests' plus that margin.
KL_MARGIN = 0.1  # nats: bfloat16's KL may exceed float32's bound by at most this
GRADIENT_ATOL = 0.03  # float32's CD-100 test uses 0.02


def cd_gradient(rbm, data, k, n_copies, dtype, seed=0):
    """The estimator's CD-k gradient with its products in ``dtype``, as float64 arrays."""
    rbm.set_params(k=k)
    v0 = torch.tensor(np.repeat(data, n_copies, axis=0), dtype=dtype)
    params = [torch.tensor(p) for p in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)]
    with torch.inference_mode():
        stats, _, _ = rbm._statistics(v0, params, None, RandomSource(seed, "cpu"), dtype)
    return [g.numpy().astype(float) for g in (stats.weight_gradient(), stats.grad_b, stats.grad_c)]


def exact_cd_gradient(rbm):
    """The gradient CD-k approaches for large k on DATA, by enumerating the tiny RBM's states."""
    W, b, c = params64(rbm)
    p_v, hv_model, p_joint = exact_model_stats_bb(W, b, c)
    h_data = 1 / (1 + np.exp(-(DATA @ W.T + c)))
    return [
        h_data.T @ DATA / len(DATA) - hv_model,
        DATA.mean(0) - p_v @ BINARY_V,
        h_data.mean(0) - p_joint.sum(0) @ BINARY_H,
    ]


def bars_and_stripes_kl(precision):
    """KL from the bars-and-stripes data to a PCD-10 RBM trained on it at ``precision``. The
    float32 twin is test_rbm_training.test_pcd_learns_bars_and_stripes (KL < 0.35)."""
    patterns = bars_and_stripes()
    rbm = RBM(
        16, method="pcd", k=10, learning_rate=0.1, learning_rate_decay=0.998, n_iter=1500,
        batch_size=14, momentum=0.5, random_state=0, device="cpu", precision=precision, n_jobs=1,
    ).fit(np.tile(patterns, (4, 1)))
    assert rbm.components_.dtype == np.float32
    return kl_to_uniform_data(rbm, patterns)


def test_bfloat16_cd_gradient_matches_exact_enumeration():
    rbm = tiny_rbm()
    grads = cd_gradient(rbm, DATA, k=100, n_copies=8000, dtype=torch.bfloat16)
    for grad, expected in zip(grads, exact_cd_gradient(rbm)):
        assert grad.dtype == np.float64
        np.testing.assert_allclose(grad, expected, atol=GRADIENT_ATOL)


def test_bfloat16_learns_bars_and_stripes_as_well_as_float32():
    assert bars_and_stripes_kl("bfloat16") < 0.35 + KL_MARGIN


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_same_seed_gives_identical_weights_at_each_precision(precision, method):
    X = np.random.RandomState(0).rand(120, 20)
    a, b, c = (
        RBM(7, n_iter=3, method=method, random_state=seed, device="cpu", precision=precision).fit(X)
        for seed in (42, 42, 43)
    )
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_visible_, b.intercept_visible_)
    assert not np.array_equal(a.components_, c.components_)


def test_precisions_give_different_but_close_models():
    X = np.random.RandomState(0).rand(200, 20)
    a, b = (RBM(7, n_iter=5, random_state=0, device="cpu", precision=p).fit(X) for p in ("float32", "bfloat16"))
    assert not np.array_equal(a.components_, b.components_)  # the setting really changes the products
    np.testing.assert_allclose(a.components_, b.components_, atol=0.05)


@pytest.mark.parametrize("precision", [
    "bfloat16",
    pytest.param("int8", marks=pytest.mark.skipif(not int8_supported(), reason="no exact torch._int_mm on this CPU")),
])
def test_reduced_precision_pcd_checkpoint_resumes_exactly(tmp_path, precision):
    X = np.random.RandomState(1).rand(90, 12)
    params = {"method": "pcd", "n_iter": 4, "batch_size": 20, "random_state": 3, "device": "cpu",
              "precision": precision}
    straight = RBM(6, **params).fit(X)
    half = RBM(6, **{**params, "n_iter": 2}).fit(X)
    assert set(np.unique(half._persistent)) <= {0.0, 1.0}  # chains stored as states (int8: not 0 / 127)
    resumed = load(half.save(tmp_path / "half.safetensors")).set_params(n_iter=4, warm_start=True).fit(X)
    assert resumed.get_params()["precision"] == precision
    np.testing.assert_array_equal(resumed.components_, straight.components_)


NATIVE = cpu_has_native_bfloat16()


def test_auto_follows_the_hardware_and_the_size_of_the_products():
    cpu, large, small = torch.device("cpu"), AUTO_BFLOAT16_MIN_MACS, AUTO_BFLOAT16_MIN_MACS - 1
    assert compute_dtype("auto", cpu, large) == (torch.bfloat16 if NATIVE else torch.float32)
    assert compute_dtype("auto", cpu, small) == torch.float32
    # An explicit precision is taken whatever the size.
    assert compute_dtype("float32", cpu, large) == torch.float32
    assert compute_dtype("bfloat16", cpu, small) == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        compute_dtype("half", cpu, large)


def test_macs_per_product_averages_over_the_layers():
    assert macs_per_product(100, [(500, 784)]) == 100 * 500 * 784
    assert macs_per_product(10, [(784, 500), (500, 10)]) == 10 * (784 * 500 + 500 * 10) / 2


def rbm_weights(precision, X, n_hidden, batch_size):
    return RBM(n_hidden, n_iter=1, batch_size=batch_size, random_state=0, device="cpu",
               precision=precision).fit(X).components_


def test_auto_trains_small_rbms_in_float32():
    # 20 x 12 x 6 multiply-adds per product: far below the threshold, where bfloat16 is slower.
    X = np.random.RandomState(0).rand(100, 12)
    np.testing.assert_array_equal(rbm_weights("auto", X, 6, 20), rbm_weights("float32", X, 6, 20))


def test_auto_trains_large_rbms_in_bfloat16_where_the_cpu_has_it():
    X = np.random.RandomState(0).rand(200, 256)
    assert 100 * 256 * 256 >= AUTO_BFLOAT16_MIN_MACS
    auto = rbm_weights("auto", X, 256, 100)
    np.testing.assert_array_equal(auto, rbm_weights("bfloat16" if NATIVE else "float32", X, 256, 100))
    if NATIVE:  # and that is not float32's model
        assert not np.array_equal(auto, rbm_weights("float32", X, 256, 100))


def test_auto_fine_tunes_a_small_classifier_in_float32():
    from deepbelief import DBNClassifier

    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 10), rng.randint(0, 3, 120)
    fits = {
        precision: DBNClassifier((8,), pretrain_n_iter=2, n_iter=3, batch_size=20, random_state=0,
                                 device="cpu", precision=precision).fit(X, y)
        for precision in ("auto", "float32")
    }
    for a, b in zip(fits["auto"].coefs_, fits["float32"].coefs_):
        np.testing.assert_array_equal(a, b)


def test_bad_precision_is_rejected_in_fit():
    with pytest.raises(ValueError, match="precision"):
        RBM(4, precision="float16").fit(np.random.RandomState(0).rand(10, 5))


def test_bfloat16_fine_tuned_classifier_matches_float32_on_the_digits():
    """Backprop under bfloat16 autocast (float32 master weights): same accuracy within 1.5 points."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from deepbelief import DBNClassifier

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    scores = {}
    for precision in ("float32", "bfloat16"):
        clf = DBNClassifier((64,), pretrain_n_iter=20, random_state=0, device="cpu",
                            precision=precision).fit(X_tr, y_tr)
        scores[precision] = clf.score(X_te, y_te)
        assert all(W.dtype == np.float32 for W in clf.coefs_)
    assert scores["float32"] > 0.95 and abs(scores["bfloat16"] - scores["float32"]) <= 0.015, scores
    again = DBNClassifier((64,), pretrain_n_iter=20, random_state=0, device="cpu",
                          precision="bfloat16").fit(X_tr, y_tr)
    assert again.score(X_te, y_te) == scores["bfloat16"]  # same seed, same precision, same model


def test_bfloat16_bernoulli_draws_are_unbiased_to_two_to_the_minus_16():
    source = RandomSource(0, "cpu")
    # 0 and 1 are never and always on; a bfloat16 probability is hit within sampling noise.
    p = torch.tensor([0.0, 1.0, 2.0**-12, 0.3, 0.75], dtype=torch.bfloat16).repeat(400_000, 1)
    states = source.bernoulli(p)
    assert states.dtype == torch.bfloat16 and states.shape == p.shape
    assert set(torch.unique(states.float()).tolist()) == {0.0, 1.0}
    means = states.double().mean(0).numpy()
    assert means[0] == 0.0 and means[1] == 1.0
    target = p[0].double().numpy()
    sigma = np.sqrt(target * (1 - target) / len(p))
    np.testing.assert_array_less(np.abs(means - target)[2:], 5 * sigma[2:] + 2.0**-17)
    # The same seed gives the same states.
    np.testing.assert_array_equal(RandomSource(0, "cpu").bernoulli(p).float().numpy(), states.float().numpy())


def test_float32_uniforms_are_numpys_own_bit_for_bit():
    # A fresh source draws exactly Generator(SFC64(seed)).random(dtype=float32), the numbers the
    # float32 path drew before they were cut from raw words.
    source = RandomSource(7, "cpu")
    seed = int(np.random.RandomState(7).randint(np.iinfo(np.int32).max))
    reference = np.random.Generator(np.random.SFC64(seed))
    for shape in [(100, 500), (3, 4), (10, 784)]:
        u = source.uniform(shape)
        assert u.dtype == torch.float32 and tuple(u.shape) == shape
        np.testing.assert_array_equal(u.numpy(), reference.random(shape, dtype=np.float32))


def test_auto_fine_tunes_large_layers_in_bfloat16_where_the_cpu_has_it():
    from deepbelief import DBNClassifier

    clf = DBNClassifier((500,), batch_size=100, device="cpu", precision="auto")
    weights = [torch.empty(784, 500), torch.empty(500, 10)]  # 100 x (784 x 500 + 500 x 10) / 2
    assert clf._settings(1, 1000, weights).dtype == (torch.bfloat16 if NATIVE else torch.float32)
    assert clf._settings(1, 1000, weights[-1:]).dtype == torch.float32  # the softmax layer alone
    assert clf._settings(1, 5, weights).dtype == torch.float32  # five rows: batches of five


def test_every_model_defaults_to_auto():
    from deepbelief import DBN, DBNClassifier, DeepAutoencoder

    models = [RBM(), DBN([4, 3]), DBNClassifier(), DeepAutoencoder([4, 3])]
    assert [m.get_params()["precision"] for m in models] == ["auto"] * 4


def _saturating_int_mm(a, b):
    """torch._int_mm as oneDNN computes it without AVX-512 VNNI (vpmaddubsw): a is shifted to
    unsigned (a + 128), each pair of products is added in 16 bits, saturating, and the shift is
    taken off at the end; 127 * 127 + 127 * 127 comes out as 255."""
    products = (a.to(torch.int32) + 128).unsqueeze(2) * b.to(torch.int32).unsqueeze(0)  # (m, k, n)
    if products.shape[1] % 2:
        products = torch.cat([products, torch.zeros_like(products[:, :1])], dim=1)
    pairs = (products[:, 0::2] + products[:, 1::2]).clamp_(-32768, 32767)
    return pairs.sum(dim=1, dtype=torch.int32) - 128 * b.to(torch.int32).sum(dim=0)


def test_int8_is_refused_where_the_cpu_rounds_its_int8_products(monkeypatch):
    from deepbelief._core import cd_int8

    monkeypatch.setattr(torch, "_int_mm", _saturating_int_mm)
    cd_int8.int8_supported.cache_clear()
    try:
        assert not cd_int8.int8_supported()
        with pytest.raises(ValueError, match="rounds .*AVX-512 VNNI.*precision='bfloat16'"):
            RBM(4, precision="int8", n_iter=1).fit(np.random.RandomState(0).rand(20, 6))
        exact = lambda a, b: (a.to(torch.int64) @ b.to(torch.int64)).to(torch.int32)  # noqa: E731
        monkeypatch.setattr(torch, "_int_mm", exact)
        cd_int8.int8_supported.cache_clear()
        assert cd_int8.int8_supported()
    finally:
        cd_int8.int8_supported.cache_clear()
