"""NumPy integers and floats go wherever Python ones do (sizes, counts, seeds, model files);
bools do not pass for counts."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from deepbelief import DBM, DBN, RBM, load
from deepbelief._core import ais
from deepbelief._core.counts import Count, check_count, is_count
from deepbelief.models import DBMClassifier, DBNClassifier, DeepAutoencoder

I64, I32, F32 = np.int64, np.int32, np.float32


@pytest.fixture(scope="module")
def data():
    X = (np.random.RandomState(0).rand(30, 8) > 0.5).astype(float)
    return X, np.arange(30) % 2


def test_counts_are_integers_of_any_type_but_not_bools():
    for value in (3, I64(3), I32(3), np.uint8(3)):
        assert is_count(value, 1) and Count(1).is_satisfied_by(value)
        assert check_count("n", value) == 3 and type(check_count("n", value)) is int
    for value in (True, np.True_, 3.0, "3", None, 0, I64(0)):
        assert not is_count(value, 1) and not Count(1).is_satisfied_by(value)
    with pytest.raises(ValueError, match=r"n_runs must be an integer >= 2, got np.int64\(1\)"):
        check_count("n_runs", I64(1), 2)


def test_an_rbm_takes_numpy_numbers_and_gives_the_model_of_python_ones(data):
    X, _ = data
    numpy = RBM(I64(5), k=I32(2), batch_size=I64(10), n_iter=I64(2), learning_rate=F32(0.1),
                momentum=(F32(0.5), np.float64(0.9)), weight_decay=F32(0.001), random_state=I64(3),
                method="pcd", n_jobs=I64(1)).fit(X)
    python = RBM(5, k=2, batch_size=10, n_iter=2, learning_rate=float(F32(0.1)),
                 momentum=(float(F32(0.5)), 0.9), weight_decay=float(F32(0.001)), random_state=3,
                 method="pcd", n_jobs=1).fit(X)
    np.testing.assert_array_equal(numpy.components_, python.components_)
    assert numpy.n_iter_ == 2
    numpy.partial_fit(X)


def test_sampling_and_scoring_take_numpy_counts(data):
    X, _ = data
    rbm = RBM(4, n_iter=1, random_state=0, method="pcd").fit(X)
    samples = rbm.sample(I64(3), burn_in=I64(2), thin=I32(2), samples_per_chain=I64(2))
    assert samples.shape == (2, 3, 8)
    assert rbm.gibbs(X, n_steps=I64(2)).shape == X.shape
    log_z = rbm.log_partition(X, n_betas=I64(10), n_runs=I64(4), random_state=I64(0))
    assert log_z.n_runs == 4 and type(log_z.n_runs) is int
    assert np.isfinite(rbm.log_likelihood(X, log_z=log_z))
    assert len(ais.spaced_betas(I64(5))) == 5 and len(ais.standard_betas(I32(10))) == 10


def test_stacks_take_numpy_layer_sizes_and_counts(data):
    X, y = data
    dbn = DBN((None, I64(6), I32(4)), n_iter=[I64(1), 2], k=I64(1), batch_size=I64(10),
              random_state=I64(0)).fit(X)
    assert dbn.layer_sizes_ == [8, 6, 4] and all(type(s) is int for s in dbn.layer_sizes_)
    assert DBN(np.array([8, 5]), n_iter=1).fit(X).layer_sizes_ == [8, 5]
    assert dbn.sample(I64(3), burn_in=I64(2)).shape == (3, 8)
    assert dbn.reconstruct(X, n_layers=I64(1)).shape == X.shape
    assert np.isfinite(dbn.log_likelihood(X, n_samples=I64(2), n_betas=I64(10), n_runs=I64(4)))
    dbm = DBM((None, I64(6), I64(4)), n_iter=I64(1), pretrain_n_iter=I64(1), batch_size=I64(10),
              n_chains=I64(7), k=I64(1), n_mean_field=I64(3), random_state=I64(0)).fit(X)
    assert dbm.sample(I64(3), burn_in=I64(2), thin=I64(1)).shape == (3, 8)
    assert np.isfinite(float(dbm.log_partition(n_betas=I64(10), n_runs=I64(4), method="ais")))
    DBNClassifier(hidden_layer_sizes=(I64(5),), n_iter=I64(1), pretrain_n_iter=I64(1),
                  output_n_iter=I64(1), batch_size=I64(10), n_iter_no_change=I64(2),
                  random_state=I64(0)).fit(X, y)
    DBNClassifier(hidden_layer_sizes=I64(5), n_iter=1, pretrain_n_iter=1).fit(X, y)
    DeepAutoencoder((None, I64(6), I64(2)), n_iter=I64(1), pretrain_n_iter=I64(1)).fit(X)
    DBMClassifier(hidden_layer_sizes=(I64(5), I64(4)), n_iter=I64(1), dbm_n_iter=I64(1)).fit(X, y)


def test_model_files_store_numpy_parameters_as_plain_numbers(data, tmp_path):
    X, y = data
    models = [
        RBM(I64(4), batch_size=I32(10), n_iter=I64(1), random_state=I64(0)).fit(X),
        DBN((None, I64(5), I64(3)), n_iter=I64(1), random_state=I64(0)).fit(X),
        DBNClassifier((I64(5),), n_iter=I64(1), pretrain_n_iter=I64(1), random_state=I64(0)).fit(X, y),
        DBN(np.array([8, 5]), n_iter=1, random_state=0).fit(X),  # layers as an array: back as a list
        DBNClassifier(np.array([5], dtype=np.int32), n_iter=1, pretrain_n_iter=1).fit(X, y),
    ]
    for model in models:
        path = model.save(tmp_path / f"{type(model).__name__}.safetensors")
        again = load(path)
        params = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in model.get_params().items()}
        assert again.get_params() == params
        for value in again.get_params().values():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                assert not isinstance(v, np.generic), again.get_params()
        np.testing.assert_allclose(again.transform(X) if hasattr(again, "transform") else
                                   again.predict_proba(X),
                                   model.transform(X) if hasattr(model, "transform") else
                                   model.predict_proba(X))


@pytest.mark.parametrize(
    "make",
    [
        lambda: RBM(True),
        lambda: RBM(3, batch_size=True),
        lambda: RBM(3, k=np.True_),
        lambda: RBM(3, n_iter=True),
        lambda: DBM((None, 4, 3), n_chains=True),
        lambda: DBNClassifier((4,), batch_size=True),
    ],
)
def test_a_bool_is_not_a_count_for_parameters(data, make):
    X, y = data
    model = make()
    with pytest.raises(InvalidParameterError, match="must be an int in the range"):
        model.fit(X, y) if isinstance(model, DBNClassifier) else model.fit(X)


def test_a_bool_is_not_a_layer_size_or_a_count_of_samples(data):
    X, y = data
    with pytest.raises(ValueError, match="layers must hold positive integers"):
        DBN((None, True)).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a non-empty list"):
        DBNClassifier((True,)).fit(X, y)
    rbm = RBM(3, n_iter=1).fit(X)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        rbm.sample(True)
    with pytest.raises(ValueError, match="burn_in must be an integer >= 1"):
        rbm.sample(2, burn_in=True)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        rbm.gibbs(X, n_steps=True)
    with pytest.raises(ValueError, match="n_layers must be an integer from 1 to 1"):
        DBN((None, 3), n_iter=1).fit(X).reconstruct(X, n_layers=True)
    with pytest.raises(ValueError, match="n_mean_field must be an integer >= 1"):
        DBM((None, 3, 2), n_iter=1, pretrain=False).fit(X).free_energy(X, n_mean_field=True)
    with pytest.raises(ValueError, match="n_runs must be an integer >= 2"):
        rbm.log_partition(n_runs=True)
    with pytest.raises(ValueError, match="n_betas must be at least 4"):
        rbm.log_partition(n_betas=True)
