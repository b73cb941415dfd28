"""Searches on Dask: the same grid search on a local cluster and in this process, the CLI's
``--scheduler``, and the clear errors of ``runs.cluster``.

The clusters are started by the tests: two single-threaded worker processes on 127.0.0.1,
no dashboard, nothing else on the network.
"""

import contextlib
import gzip
import io
import json
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from deepbelief import RBM
from deepbelief.runs.cluster import FitTicker, search_backend

distributed = pytest.importorskip("distributed")

CV = 2
GRID = {"rbm__n_components": [8, 16], "logistic__C": [1.0, 100.0]}


def _torch_threads(estimator, X, y):
    return torch.get_num_threads()  # a "score": runs in the process and thread of the fit


def _pid(estimator, X, y):
    return os.getpid()


def _search():
    pipe = Pipeline([("scale", MinMaxScaler(clip=True)),
                     ("rbm", RBM(16, n_iter=3, batch_size=20, learning_rate=0.05,
                                 random_state=0, verbose=0)),
                     ("logistic", LogisticRegression(max_iter=500))])
    scoring = {"accuracy": "accuracy", "threads": _torch_threads, "pid": _pid}
    return GridSearchCV(pipe, GRID, cv=CV, scoring=scoring, refit="accuracy")


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def one_thread():
    """torch and the BLAS of NumPy/SciPy on one thread here, as in a Dask worker; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


def test_a_search_on_dask_matches_the_search_in_this_process(digits, client):
    """Identical to the last bit when both sides compute on one thread. With more threads here
    than in a worker, BLAS sums may round differently: bench/dask_search.py saw one raw-pixel
    logistic regression (unconverged, on 600 MNIST digits) change 1 prediction in 200 between
    2 threads and 1, while every RBM score stayed equal."""
    X, y = digits
    with one_thread():
        here = _search().fit(X, y)
    with joblib.parallel_backend("dask", client=client):
        on_dask = _search().fit(X, y)

    # The fits ran in the worker processes, each with one torch thread (Dask's nanny starts
    # workers with OMP_NUM_THREADS=1), not in this process.
    worker_pids = set(client.run(os.getpid).values())
    pids = {pid for fold in range(CV) for pid in on_dask.cv_results_[f"split{fold}_test_pid"]}
    assert pids <= worker_pids
    assert os.getpid() not in worker_pids
    assert set(on_dask.cv_results_["mean_test_threads"]) == {1.0}
    assert set(here.cv_results_["mean_test_threads"]) == {1.0}

    # Same seeds, same folds: the same predictions, so the same accuracies to the last bit
    # (an accuracy is a count of right answers over a fold of ~900 digits).
    assert on_dask.best_params_ == here.best_params_
    for key in ["mean_test_accuracy"] + [f"split{k}_test_accuracy" for k in range(CV)]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], here.cv_results_[key])


def test_search_backend_runs_fits_on_its_cluster_and_counts_them(digits, client):
    X, y = digits
    address = client.scheduler.address
    with search_backend(address) as backend:
        assert backend.n_jobs is None and address in backend.description

        class Bar:
            n = 0

            def update(self):
                self.n += 1

        bar = Bar()
        tick = backend.ticker(bar)
        # Copies run on the workers (where the bar is not); their events come back before
        # the results, on the same connection.
        backend.client.gather([backend.client.submit(tick, pure=False) for _ in range(4)])
        assert bar.n == 4
    assert backend.client.status == "closed"  # the block's own client; the cluster runs on
    assert client.status == "running"


def test_without_a_scheduler_fits_stay_in_this_process():
    with search_backend(None) as backend:
        assert backend.client is None and backend.n_jobs == 1


def test_a_ticker_moves_its_bar_here_and_leaves_it_behind_when_pickled():
    bar = tqdm(total=3, file=io.StringIO())
    ticker = FitTicker(bar, topic="t")
    ticker()
    ticker()
    assert bar.n == 2
    copy = pickle.loads(pickle.dumps(ticker))
    assert copy.bar is None and copy.topic == "t"
    copy()  # not on a Dask worker: nothing to tell, and no error


def test_missing_dask_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'deepbelief\[dask\]'"):
        with search_backend("local"):
            pass


def test_an_unreachable_scheduler_is_one_clear_error():
    address = "tcp://127.0.0.1:1"  # nothing listens on port 1 of loopback
    with pytest.raises(ConnectionError, match="no Dask scheduler answers at 'tcp://127.0.0.1:1'"):
        with search_backend(address, timeout=1):
            pass


def _idx(array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _fake_mnist(folder):
    """MNIST-shaped files made of the 8x8 digits (tripled to 24x24, padded to 28x28)."""
    X, y = load_digits(return_X_y=True)
    images = np.pad(np.kron(X.reshape(-1, 8, 8), np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
    images = np.round(images * 255 / 16)
    folder.mkdir()
    for prefix, rows in (("train", slice(0, 1500)), ("t10k", slice(1500, None))):
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(_idx(images[rows]))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(_idx(y[rows]))


def test_the_cli_search_runs_on_a_local_cluster_as_a_user_would(tmp_path):
    _fake_mnist(tmp_path / "mnist")
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "deepbelief", "experiment", "rbm-logistic", "--smoke", "--search",
         "--scheduler", "local", "--data-home", str(tmp_path / "mnist"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, DEEPBELIEF_PROGRESS="1"))
    assert result.returncode == 0, result.stderr
    assert "the searches run on a local Dask cluster (" in result.stdout
    # The bars tick as the workers' fits finish: 2 settings x 2 folds, then 4 x 2.
    bars = result.stderr.replace("\r", "\n").splitlines()
    assert any(line.startswith("grid search (raw): 100%") and "4/4" in line for line in bars)
    assert any(line.startswith("grid search (rbm): 100%") and "8/8" in line for line in bars)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["best_params"]["rbm"]["rbm__n_components"] in (16, 32)
    assert metrics["best_params"]["raw"]["logistic__C"] in (0.1, 1.0)


def test_the_cli_refuses_a_scheduler_without_a_search(tmp_path, capsys):
    from deepbelief.cli import main

    assert main(["experiment", "rbm-logistic", "--smoke", "--scheduler", "local",
                 "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--search" in err
    assert not (tmp_path / "run").exists()
