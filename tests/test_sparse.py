"""scipy.sparse input: densified a batch (training) or a block of rows (inference) at a time, and
the same models and results as the same rows dense."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from deepbelief import DBN, RBM, DBNClassifier, DeepAutoencoder
from deepbelief._core import batches

PARAMS = ("components_", "intercept_visible_", "intercept_hidden_", "h_samples_")
FORMATS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.lil_matrix, sp.coo_array]


def bag_of_words(n_samples=203, n_features=40, seed=0):
    """0/1 presence features, about 15% non-zero, as float64."""
    return (np.random.RandomState(seed).rand(n_samples, n_features) > 0.85).astype(np.float64)


@pytest.mark.parametrize("container", FORMATS)
def test_every_sparse_format_trains_the_dense_model_bit_for_bit(container):
    X = bag_of_words()
    for settings in [dict(), dict(method="pcd", k=2, precision="bfloat16"), dict(precision="int8")]:
        settings.update(n_iter=3, batch_size=20, random_state=0, device="cpu", n_jobs=1)
        dense = RBM(8, **settings).fit(X)
        sparse = RBM(8, **settings).fit(container(X))
        for name in PARAMS:
            np.testing.assert_array_equal(getattr(sparse, name), getattr(dense, name), err_msg=name)
        dense.partial_fit(X[:50])
        sparse.partial_fit(container(X[:50]))
        np.testing.assert_array_equal(sparse.components_, dense.components_)


def test_sparse_integer_counts_are_float64_like_dense_ones():
    X = sp.csr_array(bag_of_words().astype(np.int64))
    rbm = RBM(4, n_iter=1, random_state=0).fit(X)
    assert rbm.transform(X).dtype == np.float64
    assert rbm.transform(X.astype(np.float32)).dtype == np.float32


def test_sparse_inference_is_the_dense_one_block_by_block(monkeypatch):
    X = bag_of_words()
    rbm = RBM(8, n_iter=2, random_state=0, device="cpu").fit(X)
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 40 * 25)  # blocks of 25 rows: 9 of them
    S = sp.csr_matrix(X)
    for method in ("transform", "score_samples", "free_energy", "reconstruct"):
        np.testing.assert_allclose(getattr(rbm, method)(S), getattr(rbm, method)(X), rtol=1e-6, atol=1e-7,
                                   err_msg=method)
    state = rbm.random_state_.get_state()
    dense_sample = rbm.gibbs(X)
    rbm.random_state_.set_state(state)
    np.testing.assert_array_equal(rbm.gibbs(sp.csc_array(X)), dense_sample)


def test_sparse_training_and_transform_never_densify_the_whole_matrix():
    # 10,000 x 4,000 at 0.2% density: 1 MB sparse, 320 MB as dense float64 (160 MB float32).
    # NumPy allocations are traced: one batch (100 x 4,000 float32 = 1.6 MB), one chunk of
    # CHUNK_BYTES (4 MiB) and the shuffled index stay far below a dense copy.
    X = sp.random(10_000, 4_000, density=0.002, format="csr", random_state=0, dtype=np.float64)
    X.data[:] = 1.0
    tracemalloc.start()
    try:
        rbm = RBM(8, n_iter=1, batch_size=100, random_state=0, device="cpu", n_jobs=1).fit(X)
        H = rbm.transform(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert H.shape == (10_000, 8)
    assert peak < 40 * 2**20, f"peak traced memory {peak / 2**20:.1f} MB"


@pytest.mark.parametrize("value, match", [(2.0, "Values above 1"), (-1.0, "Negative values"), (np.nan, "NaN")])
def test_sparse_values_outside_the_unit_range_are_refused_at_fit(value, match):
    X = sp.lil_matrix(bag_of_words())
    X[3, 5] = value
    with pytest.raises(ValueError, match=match):
        RBM(4, n_iter=1).fit(X)


def duplicated(X, part=0.5):
    """CSR holding every stored value of X as two entries at the same place (part and the rest),
    as a matrix built by hand from (data, indices, indptr) may."""
    C = sp.csr_matrix(X)
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    data = np.concatenate([C.data * part, C.data * (1 - part)])
    order = np.argsort(np.concatenate([rows, rows]), kind="stable")
    indices = np.concatenate([C.indices, C.indices])[order]
    return sp.csr_matrix((data[order], indices, np.append(0, np.cumsum(2 * np.diff(C.indptr)))), C.shape)


def test_duplicate_sparse_entries_count_as_their_sum():
    X = bag_of_words()
    twice = duplicated(X)  # 0.5 + 0.5 at every non-zero
    assert not twice.has_canonical_format and twice.nnz == 2 * sp.csr_matrix(X).nnz
    np.testing.assert_array_equal(twice.toarray(), X)
    settings = dict(n_iter=2, batch_size=20, random_state=0, device="cpu", n_jobs=1)
    dense, sparse = RBM(8, **settings).fit(X), RBM(8, **settings).fit(twice)
    np.testing.assert_array_equal(sparse.components_, dense.components_)
    # transform of sparse rows goes through scipy's sparse product, of dense rows through torch's
    # matmul: two kernels whose float32 sums may round differently (by one ulp, 6e-8, on an AMD
    # EPYC), so they agree to a tolerance; training above densified the same batches: bit for bit.
    np.testing.assert_allclose(sparse.transform(twice), dense.transform(X), rtol=0, atol=1e-6)
    assert sparse.log_likelihood(twice, log_z=20.0) == dense.log_likelihood(X, log_z=20.0)
    with pytest.raises(ValueError, match=r"Values above 1 in data: X has values in \[0, 1.2\]"):
        RBM(4, n_iter=1).fit(duplicated(X * 0.6, part=0.5) * 2)  # 0.6 + 0.6 at every non-zero
    wild = duplicated(X * 0.8, part=0.5) * 2.5  # 1.0 + 1.0: clipped to 1 at transform, not each to 1
    np.testing.assert_allclose(dense.transform(wild), dense.transform(X), rtol=1e-6)


def test_sparse_values_outside_the_unit_range_are_clipped_at_transform():
    X = bag_of_words()
    rbm = RBM(4, n_iter=1, random_state=0).fit(X)
    wild = X * 3.0 - 1.0  # -1 and 2
    np.testing.assert_allclose(rbm.transform(sp.csr_array(wild)), rbm.transform(np.clip(wild, 0, 1)), rtol=1e-6)


def test_dbn_on_sparse_data_is_the_dense_dbn():
    X = bag_of_words()
    settings = dict(n_iter=3, batch_size=20, random_state=0, device="cpu", n_jobs=1)
    dense = DBN([40, 16, 8], **settings).fit(X)
    sparse = DBN([40, 16, 8], **settings).fit(sp.csr_array(X))
    np.testing.assert_array_equal(sparse.rbms_[0].components_, dense.rbms_[0].components_)
    np.testing.assert_allclose(sparse.rbms_[1].components_, dense.rbms_[1].components_, atol=1e-6)
    np.testing.assert_allclose(sparse.transform(sp.csc_matrix(X)), dense.transform(X), atol=1e-5)
    np.testing.assert_allclose(sparse.reconstruct(sp.csr_matrix(X)), dense.reconstruct(X), atol=1e-5)


def test_classifier_and_autoencoder_train_on_sparse_data():
    X, y = load_digits(return_X_y=True)
    X = (X[:400] / 16 > 0.5).astype(np.float64)
    y = y[:400]
    settings = dict(pretrain_n_iter=2, n_iter=3, batch_size=50, random_state=0, device="cpu", n_jobs=1)
    dense = DBNClassifier((32,), validation_fraction=0.2, output_n_iter=1, **settings).fit(X, y)
    sparse = DBNClassifier((32,), validation_fraction=0.2, output_n_iter=1, **settings).fit(sp.csr_matrix(X), y)
    # One RBM: pretraining is the dense one bit for bit, and so is every fine-tuning batch.
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_array(X)), dense.predict_proba(X), atol=1e-6)
    assert sparse.history_["validation_error"] == pytest.approx(dense.history_["validation_error"], abs=1e-6)
    ae_dense = DeepAutoencoder([64, 16, 2], validation_fraction=0.2, **settings).fit(X)
    ae_sparse = DeepAutoencoder([64, 16, 2], validation_fraction=0.2, **settings).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(ae_sparse.transform(sp.csr_matrix(X)), ae_dense.transform(X), atol=1e-4)
    assert ae_sparse.reconstruction_error(sp.csc_array(X)) == pytest.approx(ae_dense.reconstruction_error(X), rel=1e-5)


def samples_from(inits, sample, generators, **settings):
    """``sample(init=init, **settings)`` for each init, every call from the same states of
    ``generators``."""
    states = [g.get_state() for g in generators]
    out = []
    for init in inits:
        for g, state in zip(generators, states):
            g.set_state(state)
        out.append(sample(init=init, **settings))
    return out


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.coo_array, sp.lil_matrix])
def test_sparse_log_likelihood_and_log_partition_are_the_dense_ones(container, monkeypatch):
    X = bag_of_words()
    rbm = RBM(8, n_iter=2, random_state=0, device="cpu").fit(X)
    S, ais = container(X), dict(n_betas=200, n_runs=10, random_state=0)
    # One block of rows, and 0/1 data whose column sums (the base-rate model) are integers:
    # bit for bit, with a given log Z and with AIS on X as base data.
    assert rbm.log_likelihood(S, log_z=20.0) == rbm.log_likelihood(X, log_z=20.0)
    assert rbm.log_likelihood(S, **ais) == rbm.log_likelihood(X, **ais)
    assert float(rbm.log_partition(S, **ais)) == float(rbm.log_partition(X, **ais))
    grey = np.random.RandomState(1).rand(*X.shape) * X  # grey base data: means to float rounding
    assert float(rbm.log_partition(container(grey), **ais)) == pytest.approx(
        float(rbm.log_partition(grey, **ais)), rel=1e-12)
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 40 * 25)  # blocks of 25 rows: to float rounding
    assert rbm.log_likelihood(S, log_z=20.0) == pytest.approx(rbm.log_likelihood(X, log_z=20.0), rel=1e-12)


def test_sparse_log_likelihood_reads_the_stored_values_for_its_0_1_check():
    X = bag_of_words()
    rbm = RBM(4, n_iter=1, random_state=0, device="cpu").fit(X)
    grey = sp.csr_array(X * 0.5)
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        rbm.log_likelihood(grey, log_z=1.0)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 40\)"):
        rbm.log_likelihood(sp.csr_array(X[:, :30]), log_z=1.0)


def test_dbn_bound_on_sparse_data_is_the_dense_one(monkeypatch):
    X = bag_of_words()
    ais = dict(n_betas=200, n_runs=10, random_state=0)
    for layers in ([40, 16, 8], [40, 16]):
        dbn = DBN(layers, n_iter=2, random_state=0, device="cpu").fit(X)
        # The same blocks of samples from the same generator: bit for bit.
        assert dbn.log_likelihood(sp.csr_array(X), **ais) == dbn.log_likelihood(X, **ais)
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 40 * 25)  # base data carried up in blocks
    assert dbn.log_likelihood(sp.csc_matrix(X), **ais) == pytest.approx(dbn.log_likelihood(X, **ais), rel=1e-9)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_array])
def test_sample_starts_at_sparse_rows_as_at_dense_ones(container):
    X = bag_of_words()
    rbm = RBM(8, n_iter=2, random_state=0, device="cpu").fit(X)
    inits = [X[:5], container(X[:5])]
    dense, sparse = samples_from(inits, rbm.sample, [rbm.random_state_], burn_in=3)
    np.testing.assert_array_equal(sparse, dense)
    for layers in ([40, 16, 8], [40, 16]):
        dbn = DBN(layers, n_iter=2, random_state=0, device="cpu").fit(X)
        dense, sparse = samples_from(inits, dbn.sample, [r.random_state_ for r in dbn.rbms_],
                                     burn_in=3, output="state", return_chain=True)
        for a, b in zip(sparse, dense, strict=True):
            np.testing.assert_array_equal(a, b)
