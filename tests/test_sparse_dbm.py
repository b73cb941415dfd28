"""scipy.sparse input to DBM and DBMClassifier: a densified mini-batch at a time in training, a
block of rows at a time in inference, and the same models and results as the same rows dense."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from deepbelief import DBM, DBMClassifier
from deepbelief._core import batches

FORMATS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.lil_matrix, sp.coo_array]
FAST = dict(pretrain_n_iter=2, n_iter=2, n_chains=10, batch_size=20, random_state=0, device="cpu",
            n_jobs=1)
FITTED = ("weights_", "biases_", "layer_means_", "_chains", "_velocity")


def bag_of_words(n_samples=203, n_features=40, seed=0):
    """0/1 presence features around three prototypes, about 15% non-zero, as float64."""
    rng = np.random.RandomState(seed)
    protos = rng.rand(3, n_features) > 0.85
    return (protos[rng.randint(3, size=n_samples)] ^ (rng.rand(n_samples, n_features) > 0.97)).astype(float)


def assert_same_dbm(sparse, dense):
    for name in FITTED:
        for a, b in zip(getattr(sparse, name), getattr(dense, name), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    untimed = lambda history: {k: v for k, v in history.items() if k != "time"}  # noqa: E731
    assert untimed(sparse.history_) == untimed(dense.history_)
    assert [untimed(h) for h in sparse.pretrain_history_] == [untimed(h) for h in dense.pretrain_history_]


@pytest.mark.parametrize("container", FORMATS)
def test_every_sparse_format_trains_the_dense_dbm_bit_for_bit(container):
    X = bag_of_words()
    # The pretraining RBMs and joint training densify each mini-batch, the layer above the
    # first RBM is its hidden means of the data in one block: every number is the dense one.
    for layers, settings in [((None, 8, 6), {}), ((None, 8, 6, 4), dict(pretrain=False)),
                             ((None, 8, 6), dict(precision="bfloat16", k=2))]:
        dense = DBM(layers, **FAST, **settings).fit(X)
        sparse = DBM(layers, **FAST, **settings).fit(container(X))
        assert_same_dbm(sparse, dense)


def test_sparse_pretraining_in_blocks_is_the_dense_one_to_float_rounding(monkeypatch):
    X = bag_of_words()
    dense = DBM((None, 8, 6), **FAST).fit(X)
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 40 * 25)  # blocks of 25 rows
    sparse = DBM((None, 8, 6), **FAST).fit(sp.csr_matrix(X))
    for a, b in zip(sparse.weights_ + sparse.biases_, dense.weights_ + dense.biases_, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_array])
def test_sparse_dbm_inference_is_the_dense_one(container, monkeypatch):
    X = bag_of_words()
    dbm = DBM((None, 8, 6), **FAST).fit(X)
    S = container(X)
    ais = dict(method="ais", n_betas=200, n_runs=10, random_state=0)

    def results(data):
        return {"activations": dbm.layer_activations(data), "reconstruct": dbm.reconstruct(data),
                "free_energy": dbm.free_energy(data), "scores": dbm.score_samples(data, log_z=9.5),
                "score": dbm.score(data), "log_likelihood": dbm.log_likelihood(data, log_z=9.5),
                "log_z": float(dbm.log_partition(data, **ais))}

    dense = results(X)
    # Blocks of the same rows as dense X's, 0/1 pixels whose column means are exact: bit for bit.
    for name, value in results(S).items():
        np.testing.assert_array_equal(np.concatenate(value, axis=1) if name == "activations" else value,
                                      np.concatenate(dense[name], axis=1) if name == "activations" else dense[name],
                                      err_msg=name)
    assert dbm.transform(S).dtype == np.float64 and dbm.transform(S.astype(np.float32)).dtype == np.float32
    grey = np.random.RandomState(1).rand(*X.shape) * X  # grey base data: its means to float rounding
    assert float(dbm.log_partition(container(grey), **ais)) == pytest.approx(float(dbm.log_partition(grey, **ais)))
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 40 * 25)  # blocks of 25 rows: to float rounding
    for name, value in results(S).items():
        expected = dense[name]
        if name == "activations":
            value, expected = value[-1], expected[-1]
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.lil_matrix])
def test_dbm_chains_start_at_sparse_rows_as_at_dense_ones(container):
    X = bag_of_words()
    dbm = DBM((None, 8, 6), **FAST).fit(X)
    state = dbm.random_state_.get_state()
    dense = dbm.sample(init=X[:5], burn_in=3, output="state", return_chain=True)
    dbm.random_state_.set_state(state)
    sparse = dbm.sample(init=container(X[:5]), burn_in=3, output="state", return_chain=True)
    for a, b in zip(sparse, dense, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value, match", [(2.0, "Values above 1"), (-1.0, "Negative values"),
                                          (np.nan, "NaN")])
def test_sparse_values_outside_the_unit_range_are_refused_at_fit(value, match):
    X = sp.lil_matrix(bag_of_words())
    X[3, 5] = value
    with pytest.raises(ValueError, match=match):
        DBM((None, 4, 3), **FAST).fit(X)
    with pytest.raises(ValueError, match=match):
        DBMClassifier((4, 3), pretrain_n_iter=1, dbm_n_iter=1, n_iter=1).fit(X, np.arange(203) % 2)


def test_sparse_scores_need_0_1_stored_values_and_new_data_is_clipped():
    X = bag_of_words()
    dbm = DBM((None, 8, 6), **FAST).fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        dbm.score_samples(sp.csr_matrix(X * 0.5), log_z=1.0)
    wild = X * 3.0 - 1.0  # -1 and 2
    np.testing.assert_array_equal(dbm.transform(sp.csr_array(wild)), dbm.transform(np.clip(wild, 0, 1)))


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix])
def test_sparse_dbm_classifier_is_the_dense_one(container):
    X, y = bag_of_words(), np.arange(203) % 3
    for settings in [dict(validation_fraction=0.2, output_n_iter=2, dropout=0.1),
                     dict(pretrain=False, validation_fraction=0.2)]:
        common = dict(pretrain_n_iter=2, dbm_n_iter=2, n_iter=3, batch_size=20, random_state=0,
                      device="cpu", n_jobs=1, **settings)
        dense = DBMClassifier((8, 6), **common).fit(X, y)
        sparse = DBMClassifier((8, 6), **common).fit(container(X), y)
        # The DBM is the dense one bit for bit, and so is every densified fine-tuning batch.
        for a, b in zip(sparse.coefs_ + sparse.intercepts_, dense.coefs_ + dense.intercepts_, strict=True):
            np.testing.assert_array_equal(a, b)
        assert sparse.history_["validation_error"] == dense.history_["validation_error"]
        np.testing.assert_array_equal(sparse.predict_proba(container(X)), dense.predict_proba(X))
        np.testing.assert_array_equal(sparse.predict(sp.coo_array(X)), dense.predict(X))
        assert sparse.score(container(X), y) == dense.score(X, y)


def test_sparse_dbm_training_and_inference_never_densify_the_whole_matrix():
    # 10,000 x 4,000 at 0.2% density: 1 MB sparse, 320 MB as dense float64 (160 MB float32).
    # NumPy allocations are traced: a batch, a chunk of CHUNK_BYTES (4 MiB) and the posteriors
    # stay far below a dense copy.
    X = sp.random(10_000, 4_000, density=0.002, format="csr", random_state=0, dtype=np.float64)
    X.data[:] = 1.0
    y = np.arange(10_000) % 2
    # Torch imports sympy on the first optimizer step: 60 MB of modules, not of data.
    DBMClassifier((2, 2), pretrain=False, n_iter=1).fit(bag_of_words(), np.arange(203) % 2)
    tracemalloc.start()
    try:
        dbm = DBM((None, 8, 4), pretrain_n_iter=1, n_iter=1, n_chains=20, k=1, n_mean_field=2,
                  random_state=0, device="cpu", n_jobs=1).fit(X)
        H = dbm.transform(X)
        dbm.score_samples(X, log_z=0.0)
        clf = DBMClassifier((8, 4), n_iter=1, random_state=0, device="cpu", n_jobs=1)
        clf.fit(X, y, dbm=dbm).predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert H.shape == (10_000, 4)
    assert peak < 40 * 2**20, f"peak traced memory {peak / 2**20:.1f} MB"
