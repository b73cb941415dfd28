"""n_jobs: torch's thread count limited during a call and restored after, also on error."""

import numpy as np
import pytest
import torch
from joblib import Parallel, cpu_count, delayed

from deepbelief import RBM
from deepbelief._core.threads import limit_threads

X = np.random.RandomState(0).rand(60, 10)


@pytest.fixture
def three_threads():
    """Run the test with torch at 3 threads, and put the caller's setting back after."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def threads_seen_in_fit(**params):
    seen = []
    RBM(4, n_iter=2, random_state=0, **params).fit(X, callback=lambda rbm, epoch: seen.append(torch.get_num_threads()))
    return seen


def test_fit_uses_n_jobs_threads_and_restores_the_count(three_threads):
    assert threads_seen_in_fit(n_jobs=1) == [1, 1]
    assert torch.get_num_threads() == three_threads


def test_n_jobs_none_leaves_torch_alone(three_threads):
    assert threads_seen_in_fit(n_jobs=None) == [three_threads] * 2


def test_a_fit_that_raises_still_restores_the_count(three_threads):
    def fail(rbm, epoch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RBM(4, n_iter=2, n_jobs=1).fit(X, callback=fail)
    assert torch.get_num_threads() == three_threads
    diverging = RBM(8, visible="gaussian", hidden="gaussian", learning_rate=5.0, n_iter=50, n_jobs=1)
    with pytest.raises(FloatingPointError):
        diverging.fit(np.random.RandomState(0).randn(200, 10) * 50)
    assert torch.get_num_threads() == three_threads


def test_partial_fit_and_transform_restore_the_count(three_threads):
    rbm = RBM(4, n_jobs=2).partial_fit(X)
    assert torch.get_num_threads() == three_threads
    rbm.transform(X)
    assert torch.get_num_threads() == three_threads


@pytest.mark.parametrize("n_jobs", [0, -2])
def test_bad_n_jobs_is_rejected(n_jobs):
    with pytest.raises(ValueError, match="n_jobs must be None, -1"):
        RBM(4, n_jobs=n_jobs).fit(X)
    with pytest.raises(ValueError, match="n_jobs"), limit_threads(n_jobs):
        pass


def fit_in_worker(n_jobs):
    return threads_seen_in_fit(n_jobs=n_jobs)[0]


def test_a_fit_in_a_loky_worker_uses_the_workers_share_of_the_cores():
    # loky starts each of its 2 workers with its share of the cores (cpu_count // 2) as the
    # OpenMP thread count; n_jobs=None keeps that, n_jobs=1 still limits further.
    seen = Parallel(n_jobs=2, backend="loky")(delayed(fit_in_worker)(n) for n in (None, 1))
    assert seen == [max(cpu_count() // 2, 1), 1]


@pytest.mark.parametrize("kind", ["dbn", "classifier", "autoencoder"])
def test_every_model_limits_and_restores_the_count(three_threads, kind):
    from deepbelief import DBN, DBNClassifier, DeepAutoencoder

    y = np.arange(len(X)) % 3
    seen = []
    fast = dict(random_state=0, n_jobs=1)
    if kind == "dbn":
        DBN([10, 6, 4], n_iter=2, **fast).fit(X, callback=lambda *a: seen.append(torch.get_num_threads()))
    else:
        make = {"classifier": lambda: DBNClassifier((6,), pretrain_n_iter=1, n_iter=2, **fast),
                "autoencoder": lambda: DeepAutoencoder([10, 6, 2], pretrain_n_iter=1, n_iter=2, **fast)}[kind]
        model = make()
        model.fit(*((X, y) if kind == "classifier" else (X,)),
                  callback=lambda *a: seen.append(torch.get_num_threads()))
        (model.predict if kind == "classifier" else model.transform)(X)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == three_threads
