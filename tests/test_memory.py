"""Sizes that cannot fit are refused up front: the estimates of ``_core/memory``, the rule, and
every fit, sample and AIS entry point raising MemoryError with the figure and the fix before it
allocates (a machine of 1 GiB, monkeypatched, so the tests mean the same everywhere)."""

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from deepbelief import DBM, DBN, RBM
from deepbelief._core import ais, dbm_ais, memory
from deepbelief.models import DBMClassifier, DBNClassifier, DeepAutoencoder, likelihood

GiB = 2**30
HUGE = 10**10  # units, chains or runs that no machine holds


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 1 GiB of memory (and a GPU of 1 GiB, were the work on CUDA)."""
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": GiB)
    return GiB


@pytest.fixture(scope="module")
def data():
    X = (np.random.RandomState(0).rand(40, 12) > 0.5).astype(float)
    return X, np.arange(40) % 2


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return {
        "rbm": RBM(4, n_iter=1, random_state=0).fit(X),
        "dbn": DBN((None, 5, 4), n_iter=1, random_state=0).fit(X),
        "dbm": DBM((None, 5, 4), n_iter=1, pretrain_n_iter=1, random_state=0).fit(X),
    }


def refused(call, *fragments):
    """``call()`` raises MemoryError at once, its message naming the figure, this machine's
    memory and the fix (the ``fragments``)."""
    start = time.perf_counter()
    with pytest.raises(MemoryError) as info:
        call()
    assert time.perf_counter() - start < 1.0  # refused before allocating, not by the allocator
    message = str(info.value)
    assert re.search(r"needs at least [\d.]+ [KMGTPE]iB for ", message), message
    assert "this machine has 1.0 GiB of memory: " in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------------------- the module
def test_format_bytes_uses_binary_units():
    assert memory.format_bytes(0) == "0 B"
    assert memory.format_bytes(1023) == "1023 B"
    assert memory.format_bytes(1536) == "1.5 KiB"
    assert memory.format_bytes(int(23.4 * GiB)) == "23.4 GiB"
    assert memory.format_bytes(HUGE * 784 * 12) == "85.6 TiB"
    assert memory.format_bytes(10**30).endswith(" EiB")


def test_total_memory_is_this_machines_physical_memory():
    total = memory.total_memory()
    assert isinstance(total, int) and total > 64 * 2**20


def test_check_fits_refuses_only_what_exceeds_the_total(small_machine):
    memory.check_fits(GiB, "a request", "its buffers", "ask for less")  # exactly fits
    with pytest.raises(MemoryError, match=r"^a request needs at least 1.0 GiB for its buffers; this "
                       r"machine has 1.0 GiB of memory: ask for less\.$"):
        memory.check_fits(GiB + 1, "a request", "its buffers", "ask for less")


def test_work_on_cuda_may_use_the_gpus_memory_and_this_machines(small_machine):
    memory.check_fits(2 * GiB, "a request", "its buffers", "ask for less", device="cuda:0")
    with pytest.raises(MemoryError, match=r"this machine and its GPU \(cuda:0\) have 2.0 GiB"):
        memory.check_fits(2 * GiB + 1, "a request", "its buffers", "ask for less", device="cuda:0")


def test_unknown_memory_refuses_nothing(monkeypatch):
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": None)
    memory.check_fits(10**30, "a request", "its buffers", "ask for less")


def test_the_rbm_estimate_is_the_documented_sum():
    V, H, B = 784, 500, 100
    weights = V * H + V + H
    workspace = B * (4 * V + 3 * H)
    expected = 12 * weights + 4 * workspace + 4 * B * H
    assert memory.rbm_bytes(V, H, B, 60000, "float32") == expected
    # bfloat16 products: a 2-byte copy of the weights, a 2-byte workspace; "auto" may be either
    assert memory.rbm_bytes(V, H, B, 60000, "bfloat16") == 14 * weights + 2 * workspace + 4 * B * H
    assert memory.rbm_bytes(V, H, B, 60000, "auto") == 12 * weights + 2 * workspace + 4 * B * H
    assert memory.rbm_bytes(V, H, B, 10, "float32") < expected  # batches of the 10 rows there are


def test_a_stack_counts_what_its_trained_rbms_keep_and_one_in_training():
    sizes = [784, 500, 500, 2000]
    pairs = list(zip(sizes[:-1], sizes[1:]))
    kept = [8 * memory.n_weights(p) for p in pairs]
    extra = max(memory.rbm_bytes(*p, 100, 60000) - k for p, k in zip(pairs, kept))
    assert memory.stack_bytes(sizes, 100, 60000) == sum(kept) + extra
    assert memory.stack_bytes(sizes, 100, 60000) < sum(memory.rbm_bytes(*p, 100, 60000) for p in pairs)


def test_the_usual_mnist_models_fit_on_a_laptop():
    laptop = 8 * GiB
    assert memory.rbm_bytes(784, 500, 100, 60000, "float32") < 20 * 2**20
    assert memory.stack_bytes([784, 500, 500, 2000], 100, 60000) < laptop / 100
    assert memory.dbm_bytes([784, 500, 1000], 100, 60000, 100) < laptop / 100
    assert memory.net_bytes([(784, 500), (500, 500), (500, 2000), (2000, 10)], 100, 60000) < laptop / 100
    assert memory.chains_bytes(100, [784, 500], 1, 1000) < GiB  # 1,000 steps kept, for a GIF
    assert memory.ais_bytes(100, [784, 500]) < 2**20


def test_the_example_of_the_user_guide(monkeypatch):
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": int(23.4 * GiB))
    X = np.zeros((100, 784))
    with pytest.raises(MemoryError) as info:
        RBM(n_components=10**10, device="cpu").fit(X)
    guide = (Path(__file__).parents[1] / "docs" / "user_guide" / "training.rst").read_text()
    assert " ".join(f"MemoryError: {info.value}".split()) in " ".join(guide.split())


# -------------------------------------------------------------------------- fit, partial_fit
@pytest.mark.parametrize("precision", ["float32", "auto"])
def test_an_rbm_that_fits_exactly_trains_and_one_byte_less_is_refused(monkeypatch, data, precision):
    X, _ = data
    need = memory.rbm_bytes(12, 6, 10, len(X), precision)
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": need)
    RBM(6, batch_size=10, n_iter=1, precision=precision, device="cpu").fit(X)
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": need - 1)
    with pytest.raises(MemoryError, match="RBM"):
        RBM(6, batch_size=10, n_iter=1, precision=precision, device="cpu").fit(X)


def test_what_only_initialises_is_not_refused_for_the_batches_it_would_train_on(monkeypatch, data):
    X, _ = data
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": memory.rbm_bytes(12, 50, 100, 0))
    RBM(50, n_iter=0, device="cpu").fit(X)  # weights and h_samples_ only
    with pytest.raises(MemoryError):
        RBM(50, n_iter=1, device="cpu").fit(X)
    monkeypatch.setattr(memory, "total_memory", lambda device="cpu": GiB)
    DBM((None, 5, 4), n_chains=HUGE, n_iter=0, pretrain_n_iter=1).fit(X)  # no chains made


def test_small_models_train_on_a_small_machine(small_machine, data):
    X, y = data
    RBM(8, n_iter=1).fit(X).partial_fit(X)
    DBN((None, 8, 4), n_iter=1).fit(X)
    DBM((None, 8, 4), n_iter=1, pretrain_n_iter=1).fit(X)
    DBNClassifier((8,), n_iter=1, pretrain_n_iter=1).fit(X, y)
    DeepAutoencoder((None, 8, 2), n_iter=1, pretrain_n_iter=1).fit(X)


def test_rbm_fit_and_partial_fit_refuse_too_many_hidden_units(small_machine, data):
    X, _ = data
    fix = "use fewer hidden units (n_components) or a smaller batch_size"
    refused(lambda: RBM(HUGE).fit(X), f"RBM(n_components={HUGE}, batch_size=100) on 12 features", fix)
    refused(lambda: RBM(HUGE).partial_fit(X), fix)
    refused(lambda: RBM(5, batch_size=10**12).fit(X), "batch_size=1000000000000")


def test_an_rbm_that_cannot_fit_keeps_its_fitted_state(small_machine, data):
    X, _ = data
    rbm = RBM(5, n_iter=1, random_state=0).fit(X)
    weights = rbm.components_.copy()
    rbm.set_params(n_components=HUGE, warm_start=False)
    refused(lambda: rbm.fit(X))
    np.testing.assert_array_equal(rbm.components_, weights)


def test_stacks_are_refused_before_their_first_layer_trains(small_machine, data):
    X, y = data
    refused(lambda: DBN((None, 5, HUGE)).fit(X), f"DBN(layers=[12, 5, {HUGE}]",
            "use fewer or smaller layers, or a smaller batch_size")
    refused(lambda: DBM((None, 5, HUGE)).fit(X), "DBM(layers=")
    refused(lambda: DBM((None, 5, 4), n_chains=HUGE).fit(X), f"n_chains={HUGE}", "fewer n_chains")


@pytest.mark.parametrize("pretrain", [True, False])
def test_fine_tuned_nets_are_refused_before_pretraining(small_machine, data, pretrain):
    X, y = data
    refused(lambda: DBNClassifier((HUGE,), pretrain=pretrain).fit(X, y),
            f"DBNClassifier with layers [12, {HUGE}, 2]", "its weights, gradients, momentum")
    refused(lambda: DBNClassifier((HUGE,), pretrain=pretrain).partial_fit(X, y, classes=[0, 1]))
    refused(lambda: DeepAutoencoder((None, HUGE, 2), pretrain=pretrain).fit(X),
            f"DeepAutoencoder with layers [12, {HUGE}, 2, {HUGE}, 12]")
    refused(lambda: DBMClassifier((HUGE, 4), pretrain=pretrain).fit(X, y), "DBMClassifier")


# ------------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("kind", ["rbm", "dbn", "dbm"])
def test_sample_refuses_too_many_chains(small_machine, fitted, kind):
    model = fitted[kind]
    refused(lambda: model.sample(HUGE), f"{type(model).__name__}.sample(n_samples={HUGE}",
            "draw fewer chains (n_samples) or fewer samples_per_chain")
    refused(lambda: model.sample(1000, samples_per_chain=HUGE))
    refused(lambda: model.sample(10**5, burn_in=10**4, return_chain=True), "leave return_chain off")


def test_samples_that_fit_are_drawn(small_machine, fitted):
    for model in fitted.values():
        assert model.sample(3, burn_in=2).shape == (3, 12)


# -------------------------------------------------------------------------------------- AIS
def test_ais_refuses_too_many_runs_everywhere(small_machine, fitted, data):
    X, _ = data
    rbm, dbn, dbm = fitted["rbm"], fitted["dbn"], fitted["dbm"]
    fix = "use fewer runs (n_runs)"
    refused(lambda: rbm.log_partition(X, n_runs=HUGE), f"AIS with n_runs={HUGE}", fix)
    refused(lambda: rbm.log_likelihood(X, n_runs=HUGE), fix)
    refused(lambda: likelihood.rbm_log_partition(rbm, n_runs=HUGE), fix)
    refused(lambda: dbn.log_likelihood(X, n_runs=HUGE), fix)
    refused(lambda: dbm.log_partition(n_runs=HUGE, method="ais"), "[12, 5, 4] units", fix)


def test_the_dbn_bound_refuses_too_many_posterior_samples_before_its_ais(small_machine, fitted, data):
    X, _ = data
    refused(lambda: fitted["dbn"].log_likelihood(X, n_samples=HUGE), "use fewer samples (n_samples)")


def test_schedules_refuse_too_many_betas(small_machine, fitted):
    refused(lambda: ais.standard_betas(HUGE), "use fewer betas (n_betas)")
    refused(lambda: ais.spaced_betas(HUGE), "use fewer betas (n_betas)")
    refused(lambda: fitted["rbm"].log_partition(n_betas=HUGE))


def test_the_core_ais_functions_check_their_runs(small_machine, fitted):
    rbm = fitted["rbm"]
    W, b, c = (torch.as_tensor(a) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    refused(lambda: ais.ais_log_partition(W, b, c, "bernoulli", "bernoulli", n_runs=HUGE))
    weights = [torch.as_tensor(w) for w in fitted["dbm"].weights_]
    biases = [torch.as_tensor(x) for x in fitted["dbm"].biases_]
    refused(lambda: dbm_ais.ais_log_partition(weights, biases, [biases[0], biases[2]], n_runs=HUGE))


# -------------------------------------------------------------------------------------- CLI
def one_line(args, capsys):
    from test_cli import run_in_process

    code, _, err = run_in_process(args, capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "Traceback" not in err and "unexpected error" not in err, err
    return lines[0]


def test_cli_train_with_a_layer_that_cannot_fit_is_one_line(small_machine, tmp_path, capsys):
    out = tmp_path / "run"
    line = one_line(["train", "--data", "digits", "--layers", "3000000000", "--out", str(out),
                     "--quiet"], capsys)
    need = memory.format_bytes(memory.rbm_bytes(64, 3 * 10**9, 100, 1437, "auto"))
    assert line.startswith("deepbelief train: error: RBM(n_components=3000000000, batch_size=100) "
                           f"on 64 features needs at least {need} for its weights"), line
    assert "use fewer hidden units" in line and not out.exists()
    line = one_line(["train", "--model", "dbn", "--data", "digits", "--layers", "64,3000000000",
                     "--out", str(out), "--quiet"], capsys)
    assert "DBN(layers=[64, 3000000000]" in line and not out.exists()
    line = one_line(["train", "--data", "digits", "--batch-size", "1000000000000", "--out",
                     str(out), "--quiet"], capsys)
    assert "a smaller batch_size" in line and not out.exists()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("model") / "rbm.safetensors"
    X = (np.random.RandomState(0).rand(50, 64) > 0.5).astype(float)
    RBM(8, n_iter=1, random_state=0).fit(X).save(path)
    return path


def test_cli_sample_and_evaluate_that_cannot_fit_are_one_line(small_machine, model_file, tmp_path, capsys):
    out = tmp_path / "samples.png"
    line = one_line(["sample", str(model_file), "--n-samples", "10000000000", "--out", str(out)], capsys)
    assert line.startswith("deepbelief sample: error: RBM.sample(n_samples=10000000000"), line
    assert not out.exists()
    line = one_line(["evaluate", str(model_file), "--data", "digits", "--log-likelihood",
                     "--runs", str(HUGE), "--quiet"], capsys)
    assert f"AIS with n_runs={HUGE}" in line and "use fewer runs" in line


def test_cli_sample_too_many_chains_as_a_user_types_it(model_file, tmp_path):
    # This machine's real memory: 10**15 chains of 64 pixels need petabytes anywhere.
    result = subprocess.run(
        [sys.executable, "-m", "deepbelief", "sample", str(model_file), "--n-samples",
         str(10**15), "--out", str(tmp_path / "s.png")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs at least" in lines[0] and "PiB" in lines[0], result.stderr


def test_a_real_allocator_failure_is_one_line_too(monkeypatch, capsys):
    import deepbelief.runs.jobs as jobs

    def allocate(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.1 TiB for an array with shape (10000000000, 128)")

    monkeypatch.setattr(jobs, "sample", allocate)
    line = one_line(["sample", "model.safetensors"], capsys)
    assert line == ("deepbelief sample: error: Unable to allocate 9.1 TiB for an array with shape "
                    "(10000000000, 128)")
