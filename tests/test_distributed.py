"""Data-parallel RBM training (``_core/distributed.py``): 2 ranks on 127.0.0.1 with gloo,
spawned by the tests, against one process with batches twice as large.

The equivalence is exact up to float rounding: the reference process draws its random numbers
from both ranks' streams (``PairedSource``: rank 0's rows of each batch from rank 0's stream,
rank 1's from rank 1's), so it makes the same updates, summed in another order.
"""

import copy
import json
import multiprocessing
import os
import pickle
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

from deepbelief import RBM
from deepbelief._core import distributed
from deepbelief._core.backend import RandomSource
from deepbelief.models import load

dist = pytest.importorskip("torch.distributed")
pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")

BATCH = 8  # rows per rank and update; the reference process takes 2 x BATCH
SETTINGS = dict(n_components=6, batch_size=BATCH, n_iter=3, k=2, learning_rate=0.1,
                momentum=(0.5, 0.9), weight_decay=0.001, random_state=0, device="cpu",
                precision="float32")


def data():
    return (np.random.RandomState(0).rand(64, 12) > 0.5).astype(np.float64)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def state(rbm):
    return {"components_": rbm.components_, "intercept_visible_": rbm.intercept_visible_,
            "intercept_hidden_": rbm.intercept_hidden_, "velocity": rbm._velocity,
            "h_samples_": rbm.h_samples_, "errors": rbm.history_["batch_reconstruction_error"],
            "random_state_": rbm.random_state_.get_state()[1]}


# ---------------------------------------------------------------- what each rank runs
def _run_rank(rank, port, folder, job):
    torch.set_num_threads(1)
    try:
        distributed.start(rank, 2, "127.0.0.1", port, backend="gloo", timeout=timedelta(seconds=30))
        try:
            result = job(rank, Path(folder))
        finally:
            dist.destroy_process_group()
    except BaseException as exc:
        Path(folder, f"error{rank}.txt").write_text(f"{type(exc).__name__}: {exc}")
        sys.exit(1)
    Path(folder, f"rank{rank}.pkl").write_bytes(pickle.dumps(result))


def _fit_rbms(rank, folder):
    from deepbelief.runs.train import merge_config, train_model

    result = {method: state(RBM(method=method, **SETTINGS).fit(data())) for method in ("cd", "pcd")}
    result["alone"] = state(RBM(distributed=False, **SETTINGS).fit(data()))
    for precision in ("bfloat16", "int8"):  # the reduced-precision products, summed in float32
        result[precision] = state(RBM(**{**SETTINGS, "precision": precision}).fit(data()))
    # Unseeded: each rank starts from its own draws until rank 0's are broadcast.
    result["unseeded"] = state(RBM(**{**SETTINGS, "random_state": None, "precision": "bfloat16"}).fit(data()))
    result["main"] = distributed.is_main_process()
    try:
        train_model(merge_config(model="dbn", data="digits"), folder / "dbn")
    except ValueError as exc:
        result["dbn"] = str(exc)
    return result


def _fail_on_rank_1(rank, folder):
    def callback(rbm, epoch):
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")

    RBM(**{**SETTINGS, "n_iter": 20}).fit(data(), callback=callback)


def spawn(job, folder, timeout=120):
    """Run ``job(rank, folder)`` on 2 ranks; their exit codes (a rank still running after
    ``timeout`` seconds fails the test)."""
    port, ctx = free_port(), multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_run_rank, args=(r, port, str(folder), job)) for r in range(2)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    hung = [r for r, p in enumerate(procs) if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert not hung, f"ranks {hung} hung"
    return [p.exitcode for p in procs]


# ---------------------------------------------------------------- the reference process
class PairedSource:
    """One process's random numbers as the two ranks draw them: each batch's first half of
    rows (rank 0's shard, rows 0::2) from rank 0's stream, the second (rows 1::2) from rank 1's."""

    def __init__(self, random_state, device):
        twin = copy.deepcopy(random_state)  # rank 1's copy of the shared state
        self.parts = [RandomSource(random_state, device),
                      RandomSource(distributed.rank_random_state(twin, 1), device)]

    def permutation(self, n):
        p0, p1 = (2 * part.permutation(n // 2) + r for r, part in enumerate(self.parts))
        return torch.cat([torch.cat([p0[i : i + BATCH], p1[i : i + BATCH]]) for i in range(0, n // 2, BATCH)])

    def _split(self, name, p, out):
        out = torch.empty_like(p) if out is None else out
        half = len(p) // 2
        for part, rows in zip(self.parts, (slice(0, half), slice(half, None))):
            getattr(part, name)(p[rows], out=out[rows])
        return out

    def bernoulli(self, p, out=None):
        return self._split("bernoulli", p, out)

    def bernoulli_16bit(self, p, out):
        return self._split("bernoulli_16bit", p, out)

    def uniform(self, shape, dtype=torch.float32):
        half = (shape[0] // 2, *shape[1:])
        return torch.cat([part.uniform(half, dtype) for part in self.parts])

    def normal(self, shape, dtype=torch.float32):
        half = (shape[0] // 2, *shape[1:])
        return torch.cat([part.normal(half, dtype) for part in self.parts])


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    assert spawn(_fit_rbms, folder) == [0, 0], [p.read_text() for p in folder.glob("error*")]
    return [pickle.loads((folder / f"rank{r}.pkl").read_bytes()) for r in range(2)]


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_two_ranks_train_the_model_of_one_process_with_twice_the_batch(two_ranks, method, monkeypatch):
    monkeypatch.setattr("deepbelief.models._rbm_training.RandomSource", PairedSource)
    one = state(RBM(method=method, **{**SETTINGS, "batch_size": 2 * BATCH}).fit(data()))
    ranked = two_ranks[0][method]
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "h_samples_", "errors"):
        np.testing.assert_allclose(ranked[name], one[name], rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(ranked["velocity"], one["velocity"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ranked["random_state_"], one["random_state_"])
    assert one["h_samples_"].shape == (2 * BATCH, 6)  # every rank's chains, gathered


@pytest.mark.parametrize("method", ["cd", "pcd", "alone", "bfloat16", "int8", "unseeded"])
def test_every_rank_ends_with_the_same_model_bit_for_bit(two_ranks, method):
    a, b = (r[method] for r in two_ranks)
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "h_samples_", "random_state_"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for x, y in zip(a["velocity"], b["velocity"]):
        np.testing.assert_array_equal(x, y)
    assert a["errors"] == b["errors"]


def test_distributed_false_trains_alone_as_without_a_process_group(two_ranks):
    alone = state(RBM(**SETTINGS).fit(data()))
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_array_equal(two_ranks[1]["alone"][name], alone[name])


def test_rank_0_alone_is_the_main_process_and_other_models_refuse(two_ranks):
    assert [r["main"] for r in two_ranks] == [True, False]
    assert distributed.is_main_process()  # no process group: this process writes
    for r in two_ranks:
        assert "only RBM training is data-parallel" in r["dbn"] and "'dbn'" in r["dbn"]


def test_distributed_true_needs_a_process_group():
    with pytest.raises(ValueError, match="init_process_group"):
        RBM(distributed=True, **SETTINGS).fit(data())
    assert RBM(distributed="auto").get_params()["distributed"] == "auto"
    with pytest.raises(ValueError, match="distributed"):
        RBM(distributed="yes").fit(data())


def test_a_failing_rank_stops_the_other_with_a_clear_error(tmp_path):
    start = time.monotonic()
    assert spawn(_fail_on_rank_1, tmp_path, timeout=60) == [1, 1]
    assert time.monotonic() - start < 45  # the process group's timeout is 30 s: no waiting for it
    assert "rank 1 fails on purpose" in (tmp_path / "error1.txt").read_text()
    error = (tmp_path / "error0.txt").read_text()
    assert error.startswith("ConnectionError: data-parallel training stopped on rank 0 of 2")
    assert "another rank failed" in error


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is already in use"):
            distributed.start(0, 2, "127.0.0.1", port, backend="gloo", timeout=timedelta(seconds=5))
    assert not distributed.is_initialized()


def test_shards_are_strided_and_padded_to_one_length():
    class Rank:  # a DataParallel without a process group
        shard_index = distributed.DataParallel.shard_index
        shard = distributed.DataParallel.shard

        def __init__(self, rank):
            self.rank, self.world_size = rank, 3

    X = np.arange(7.0)[:, None]
    assert [Rank(r).shard(X).ravel().tolist() for r in range(3)] == [[0, 3, 6], [1, 4, 0], [2, 5, 1]]
    assert Rank(1).shard(np.arange(6.0)[:, None]).base is not None  # a view: nothing copied
    from deepbelief._core.batches import ArrayRows

    rows = Rank(2).shard(ArrayRows(X))
    assert rows.shape == (3, 1) and rows.rows(np.array([2, 0]), "cpu").ravel().tolist() == [1, 2]


def torchrun(*args, timeout=120):
    command = [str(Path(sys.executable).with_name("torchrun")), "--nproc-per-node", "2",
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "deepbelief", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def test_torchrun_trains_an_rbm_that_rank_0_writes_and_resumes(tmp_path):
    out = tmp_path / "run"
    common = ["--data", "digits", "--layers", "8", "--batch-size", "50", "--out", str(out), "--quiet"]
    done = torchrun("train", "--model", "rbm", "--epochs", "1", *common)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("run folder:") == 1  # rank 0 alone reports and writes
    assert (out / "report.html").exists() and load(out / "model.safetensors").n_iter_ == 1
    done = torchrun("train", "--model", "rbm", "--epochs", "2", "--resume", *common)
    assert done.returncode == 0, done.stderr
    model = load(out / "model.safetensors")
    assert model.n_iter_ == 2 and len(model.history_["reconstruction_error"]) == 2
    assert json.loads((out / "metrics.json").read_text())["epochs_trained"] == 2
