"""AIS estimates of a DBM's log Z against exact enumeration of tiny DBMs."""

import itertools

import pytest
import torch

from deepbelief._core import ais
from deepbelief._core import dbm_ais as da
from deepbelief._core import dbm_math as dm

F64 = torch.float64
N_BETAS = 1500  # the standard schedule's shape, shorter, to keep the tests fast
TOLERANCE = 0.1  # nats


def random_dbm(sizes, scale, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    weights = [(scale * torch.randn(n_out, n_in, generator=g)).to(dtype)
               for n_in, n_out in itertools.pairwise(sizes)]
    biases = [(0.5 * torch.randn(n, generator=g)).to(dtype) for n in sizes]
    return weights, biases


def data_like(weights, biases, n=200, seed=0):
    """Rows drawn from the DBM itself (long Gibbs chains): a base rate close to the model."""
    from deepbelief._core.backend import RandomSource

    source = RandomSource(seed, "cpu")
    states = [torch.full((n, len(b)), 0.5).bernoulli(generator=torch.Generator().manual_seed(seed))
              for b in biases]
    for _ in range(200):
        dm.gibbs_sweep(states, weights, biases, source)
    return dm.mean_field(states[0], weights, biases, 30)[0]


def run(weights, biases, base, seed=1, **kwargs):
    kwargs.setdefault("betas", ais.standard_betas(N_BETAS))
    return da.ais_log_partition(weights, biases, base, generator=torch.Generator().manual_seed(seed),
                                **kwargs)


@pytest.mark.parametrize("sizes, scale", [((12, 10, 8), 1.0), ((10, 8, 8, 6), 0.8)])
def test_ais_matches_the_exact_log_partition(sizes, scale):
    weights, biases = random_dbm(sizes, scale)
    exact = float(da.exact_log_partition(weights, biases))
    base = da.base_rate_biases(data_like(weights, biases))
    estimate = run(weights, biases, base)
    assert abs(estimate.log_z - exact) < TOLERANCE, (estimate, exact)
    assert estimate.log_z_low <= exact <= estimate.log_z_high, (estimate, exact)
    # Without annealing it is plain importance sampling from the base model, far worse.
    plain = [run(weights, biases, base, seed=s, betas=[0.0, 1.0]) for s in range(4)]
    assert min(abs(p.log_z - exact) for p in plain) > 3 * abs(estimate.log_z - exact)


def test_ais_with_a_uniform_base_and_float64_still_converges():
    weights, biases = random_dbm((8, 6, 5), 1.0, seed=3, dtype=F64)
    exact = float(da.exact_log_partition(weights, biases))
    base = [torch.zeros(8, dtype=F64), torch.zeros(5, dtype=F64)]
    estimate = run(weights, biases, base, betas=ais.standard_betas(3000))
    assert abs(estimate.log_z - exact) < TOLERANCE


def test_ais_at_beta_zero_only_is_the_base_models_log_z():
    weights, biases = random_dbm((6, 5, 4), 1.0)
    base = [torch.randn(6), torch.randn(4)]
    estimate = run(weights, biases, base, betas=[0.0, 1.0])
    # one step: log w = log Z_A + log p*_1(x) - log p*_0(x), x ~ A
    expected_base = float(torch.nn.functional.softplus(torch.cat(base).double()).sum()) + 5 * torch.log(
        torch.tensor(2.0, dtype=F64)).item()
    assert estimate.n_betas == 2
    w = estimate.log_weights
    assert torch.isfinite(w).all() and float(w.max()) > expected_base - 50


def test_ais_is_reproducible_reports_progress_and_checks_its_input():
    weights, biases = random_dbm((6, 5, 4), 1.0)
    base = [torch.zeros(6), torch.zeros(4)]
    calls = []
    first = run(weights, biases, base, seed=5, betas=ais.standard_betas(250), progress=calls.append)
    again = run(weights, biases, base, seed=5, betas=ais.standard_betas(250))
    assert first.log_z == again.log_z and calls == [100, 100, 49]
    with pytest.raises(ValueError, match="n_runs"):
        run(weights, biases, base, n_runs=1)
    with pytest.raises(ValueError, match="one tensor per even layer"):
        run(weights, biases, base[:1])
    with pytest.raises(ValueError, match="rise from 0 to 1"):
        run(weights, biases, base, betas=[0.0, 0.7])


def test_base_rate_biases_are_clipped_logits_of_the_even_layers():
    mus = [torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.rand(2, 3), torch.tensor([[0.5], [0.7]])]
    v_bias, h2_bias = da.base_rate_biases(mus, eps=0.01)
    torch.testing.assert_close(v_bias, torch.logit(torch.tensor([0.99, 0.01], dtype=F64)))
    torch.testing.assert_close(h2_bias, torch.logit(torch.tensor([0.6], dtype=F64)))
