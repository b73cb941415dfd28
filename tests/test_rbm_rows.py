"""How an RBM reads rows (models/_rbm_rows.py): training data is checked, new data is clipped,
dtypes are kept, and sparse or memmapped rows give what the same rows dense give."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from deepbelief import RBM
from deepbelief._core import batches


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = (rng.rand(120, 30) < 0.2).astype(np.float64)
    return X, RBM(8, n_iter=2, batch_size=20, random_state=0).fit(X)


def test_training_rejects_out_of_range_data_and_new_data_is_clipped(data):
    X, rbm = data
    bad = X.copy()
    bad[3, 4] = 1.5
    with pytest.raises(ValueError, match=r"Values above 1 in data: X has values in \[0, 1.5\]"):
        RBM(4, n_iter=1).fit(bad)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RBM(4, n_iter=1).fit(bad)
    wide = X * 3 - 1  # values -1 and 2 clip to 0 and 1: X itself
    np.testing.assert_array_equal(rbm.transform(wide), rbm.transform(X))


@pytest.mark.parametrize("dtype, out", [(np.float32, np.float32), (np.float64, np.float64),
                                        (np.int64, np.float64), (bool, np.float64)])
def test_outputs_keep_a_float_dtype_and_promote_the_rest(data, dtype, out):
    X, rbm = data
    assert rbm.transform(X.astype(dtype)).dtype == out
    assert rbm.score_samples(X.astype(dtype)).dtype == np.float64


def test_sparse_rows_match_dense_rows_in_one_product_and_in_blocks(data, monkeypatch):
    X, rbm = data
    dense = rbm.transform(X)
    np.testing.assert_allclose(rbm.transform(sp.csr_matrix(X)), dense, rtol=1e-6, atol=1e-7)
    # without a sparse product, sparse rows are densified a block at a time: 8 rows here
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 8 * X.shape[1])
    seen = []

    def row_sums(v, W, b, c):
        seen.append(v.shape[0])
        return v.sum(1)

    sums = rbm._map_rows(sp.csc_matrix(X), row_sums)
    assert seen == [8] * 15 and sums.dtype == np.float64
    np.testing.assert_array_equal(sums, X.sum(1))


def test_fitted_tensors_are_the_parameters_on_the_device(data):
    X, rbm = data
    dtype, v, (W, b, c) = rbm._fitted_tensors(sp.csr_matrix(X.astype(np.float32)))
    assert dtype == np.float32 and isinstance(v, torch.Tensor)
    np.testing.assert_array_equal(v.numpy(), X)
    np.testing.assert_array_equal(W.numpy(), rbm.components_)
    np.testing.assert_array_equal(c.numpy(), rbm.intercept_hidden_)


def test_a_memmap_trains_as_the_same_rows_in_memory(data, tmp_path):
    X, _ = data
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    on_disk = RBM(8, n_iter=2, batch_size=20, random_state=0).fit(np.load(path, mmap_mode="r"))
    in_memory = RBM(8, n_iter=2, batch_size=20, random_state=0).fit(X.astype(np.float32))
    np.testing.assert_array_equal(on_disk.components_, in_memory.components_)
    bad = np.load(path, mmap_mode="r+")
    bad[0, 0] = -0.5
    bad.flush()
    with pytest.raises(ValueError, match="Negative values in data"):
        RBM(4, n_iter=1).fit(np.load(path, mmap_mode="r"))
