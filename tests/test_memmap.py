"""Training from a memmap: bounded memory, and the same model as from the same rows in memory."""

import tracemalloc

import numpy as np
import pytest

from deepbelief import DBN, RBM
from deepbelief._core import batches
from deepbelief._core.batches import ArrayRows, LiftedRows, column_mean

PARAMS = ("components_", "intercept_visible_", "intercept_hidden_")


def _traced_peak(fit):
    """``fit()``'s result and the peak of the NumPy (Python) memory traced while it ran."""
    tracemalloc.start()
    try:
        return fit(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _memmap(tmp_path, X, name="X.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")  # a read-only np.memmap


def _binary(n_samples, n_features, seed=0, dtype=np.float32):
    return (np.random.RandomState(seed).rand(n_samples, n_features) > 0.7).astype(dtype)


def test_fit_from_memmap_holds_a_fraction_of_the_array_and_equals_the_in_memory_model(tmp_path):
    # 120,000 x 100 float32 = 48 MB on disk. NumPy allocations are traced (torch's are not,
    # but the only torch tensors are one batch and the 16 x 100 model). The streamed fit holds
    # the shuffled index (8 bytes x 120,000 = 0.96 MB), one chunk of CHUNK_BYTES (4 MiB) and
    # small temporaries; a full copy of the data (what to_tensor makes of a read-only memmap)
    # would be 48 MB, so 12 MB is a bound it cannot meet.
    X = _binary(120_000, 100)
    M = _memmap(tmp_path, X)
    del X
    settings = dict(n_components=16, batch_size=500, n_iter=2, random_state=3)
    streamed, peak = _traced_peak(lambda: RBM(**settings).fit(M))
    assert peak < 12 * 2**20, f"peak traced memory {peak / 2**20:.1f} MB"
    in_memory = RBM(**settings).fit(np.array(M))
    for name in PARAMS:  # the same rows in the same order through the same products
        np.testing.assert_array_equal(getattr(streamed, name), getattr(in_memory, name))
    assert streamed.history_["batch_reconstruction_error"] == in_memory.history_[
        "batch_reconstruction_error"
    ]


def test_the_in_memory_path_of_the_same_rows_breaks_that_bound(tmp_path):
    # The bound above is not vacuous: a plain read-only view of the same file goes the
    # in-memory way, and tracemalloc sees its float32 copy (to_tensor) of all 48 MB.
    M = _memmap(tmp_path, _binary(120_000, 100))
    view = np.asarray(M)
    assert not isinstance(view, np.memmap)
    _, peak = _traced_peak(lambda: RBM(16, batch_size=500, n_iter=1, random_state=3).fit(view))
    assert peak >= M.nbytes


@pytest.mark.parametrize("dtype", [np.float32, np.float64, ">f4"])
@pytest.mark.parametrize(
    "settings",
    [dict(), dict(method="pcd", k=2), dict(precision="bfloat16", momentum=(0.5, 0.9))],
)
def test_memmap_and_in_memory_fits_are_identical(tmp_path, dtype, settings):
    # 1,003 rows: the last batch is short, as in real data.
    X = np.random.RandomState(1).rand(1003, 24).astype(dtype)
    M = _memmap(tmp_path, X)
    a = RBM(10, batch_size=50, n_iter=3, random_state=0, **settings).fit(X)
    b = RBM(10, batch_size=50, n_iter=3, random_state=0, **settings).fit(M)
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    a.partial_fit(X)
    b.partial_fit(M)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert b.n_features_in_ == 24


def test_partial_fit_streams_a_memmap_from_the_first_call(tmp_path):
    X = _binary(600, 12, seed=4)
    M = _memmap(tmp_path, X)
    a, b = RBM(5, random_state=2), RBM(5, random_state=2)
    for _ in range(2):
        a.partial_fit(X)
        b.partial_fit(M)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_visible_, b.intercept_visible_)


def test_column_mean_is_numpy_mean_bit_for_bit_across_chunks(monkeypatch):
    X = np.random.RandomState(5).rand(1001, 7) * 1e3
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 7 * 10)  # 10 rows a chunk: 101 chunks
    np.testing.assert_array_equal(column_mean(ArrayRows(X)), X.mean(axis=0))
    X32 = X.astype(np.float32)  # a plain array, as every in-memory fit passes it
    np.testing.assert_array_equal(column_mean(X32), X32.astype(np.float64).mean(axis=0))


def test_memmap_of_bytes_is_refused_with_the_fix(tmp_path):
    M = _memmap(tmp_path, (_binary(20, 6) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match=r"memmap of uint8.*float32 copy.*/ 255"):
        RBM(3).fit(M)


@pytest.mark.parametrize(
    "bad, message",
    [(np.nan, "NaN or infinity"), (1.5, "Values above 1"), (-0.5, "Negative values")],
)
def test_memmap_values_are_checked_in_chunks(tmp_path, monkeypatch, bad, message):
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 6 * 10)
    X = _binary(200, 6)
    X[173, 2] = bad  # in a late chunk
    with pytest.raises(ValueError, match=message):
        RBM(3).fit(_memmap(tmp_path, X))
    with pytest.raises(ValueError, match=message):
        DBN([6, 3, 2]).fit(_memmap(tmp_path, X, "Y.npy"))


def test_gaussian_visibles_accept_any_finite_memmap(tmp_path):
    X = np.random.RandomState(0).randn(300, 5).astype(np.float32)
    a = RBM(3, visible="gaussian", learning_rate=0.01, n_iter=2, random_state=0).fit(X)
    b = RBM(3, visible="gaussian", learning_rate=0.01, n_iter=2, random_state=0)
    b.fit(_memmap(tmp_path, X))
    np.testing.assert_array_equal(a.components_, b.components_)


def test_memmap_must_be_2d(tmp_path):
    with pytest.raises(ValueError, match="2D memmap"):
        RBM(3).fit(_memmap(tmp_path, np.zeros((4, 2, 2), np.float32)))


def test_lifted_rows_are_the_transform_of_the_rows(tmp_path):
    X = _binary(500, 20, seed=7)
    rbm = RBM(8, n_iter=2, random_state=0).fit(X)
    lifted = LiftedRows(ArrayRows(_memmap(tmp_path, X)), rbm.components_, rbm.intercept_hidden_, "bernoulli")
    rows = np.array([499, 3, 250, 3])
    np.testing.assert_allclose(lifted.rows(rows, "cpu").numpy(), rbm.transform(X[rows]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(list(lifted.chunks())), rbm.transform(X), rtol=0, atol=1e-6)


@pytest.mark.parametrize("hidden", ["bernoulli", ["bernoulli", "bernoulli", "gaussian"]])
def test_dbn_from_memmap_matches_the_in_memory_dbn(tmp_path, hidden):
    # The first RBM is identical. The upper ones see every batch carried up through the RBMs
    # below on the fly instead of rows of one transform of the whole matrix; the products and
    # the vectorised sigmoid may round a row's last bit differently by where it sits in the
    # buffer (a few-row matrix, the tail of a SIMD loop), so activations differ by about 1e-7
    # and the trained parameters by a few 1e-7 after 3 epochs: 1e-5 leaves room, and any
    # real mistake (a wrong row, layer or order) moves them by 1e-2 or more.
    X = _binary(1003, 30, seed=8)
    a = DBN([30, 20, 12, 6], hidden=hidden, n_iter=3, random_state=0).fit(X)
    b = DBN([30, 20, 12, 6], hidden=hidden, n_iter=3, random_state=0).fit(_memmap(tmp_path, X))
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(a.rbms_[0], name), getattr(b.rbms_[0], name))
    for ra, rb in zip(a.rbms_[1:], b.rbms_[1:]):
        for name in PARAMS:
            np.testing.assert_allclose(getattr(ra, name), getattr(rb, name), rtol=0, atol=1e-5)
    assert b.layer_sizes_ == [30, 20, 12, 6] and b.n_features_in_ == 30
    np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=0, atol=1e-5)


def test_dbn_from_memmap_holds_a_fraction_of_the_array(tmp_path):
    # 60,000 x 100 float32 = 24 MB; the upper RBM's data (60,000 x 32 hidden means) is never
    # stored either: the traced peak stays under the 12 MB of the RBM test above.
    M = _memmap(tmp_path, _binary(60_000, 100, seed=9))
    _, peak = _traced_peak(lambda: DBN([100, 32, 16], n_iter=1, batch_size=500, random_state=0).fit(M))
    assert peak < 12 * 2**20, f"peak traced memory {peak / 2**20:.1f} MB"


def test_in_memory_fit_makes_no_float64_copy_for_the_mean():
    # The visible biases start from the column means, now summed in chunks: a float32 array
    # is used in place (validation, to_tensor), so nothing near its 24 MB is allocated.
    X = _binary(60_000, 100, seed=10)
    _, peak = _traced_peak(lambda: RBM(8, batch_size=1000, n_iter=1, random_state=0).fit(X))
    assert peak < X.nbytes / 2, f"peak traced memory {peak / 2**20:.1f} MB"
