"""Each kind of unit against independent references: autograd, enumeration, integration, counts."""

import math

import pytest
import torch

from deepbelief._core import rbm_math as m
from deepbelief._core.backend import RandomSource
from deepbelief._core.units import BERNOULLI, GAUSSIAN, SPIN, UNITS, Units, get_unit

KINDS = [BERNOULLI, GAUSSIAN, SPIN]
F64 = torch.float64
N_DRAWS = 200_000
TOLERANCE_SIGMAS = 5  # sampling tests: a failure by chance has probability below 1e-6 per value


def _random(*shape, seed=0, scale=1.0):
    return torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(seed)) * scale


def _grid(n_points=4001, half_width=14.0):
    """Points and trapezoid weights on [-half_width, half_width] for integrals over a real line."""
    x = torch.linspace(-half_width, half_width, n_points, dtype=F64)
    w = torch.full_like(x, float(x[1] - x[0]))
    w[0] = w[-1] = w[0] / 2
    return x, w


def _log_integral_1d(log_f):
    """log of the integral over the real line of exp(log_f(x)) (log_f: a vectorised function)."""
    x, w = _grid()
    return torch.logsumexp(log_f(x) + torch.log(w), 0)


# ------------------------------------------------------------------------------------- lookup
def test_get_unit_names_every_kind_and_passes_units_through():
    assert set(UNITS) == {"bernoulli", "gaussian", "spin"} == set(m.UNIT_TYPES)
    for name, units in UNITS.items():
        assert get_unit(name) is units and units.name == name and isinstance(units, Units)
        assert get_unit(units) is units


@pytest.mark.parametrize("bad", ["binary", "Bernoulli", None, 3])
def test_get_unit_refuses_unknown_kinds_naming_the_known_ones(bad):
    with pytest.raises(ValueError, match=r"visible must be 'bernoulli', 'gaussian' or 'spin', got"):
        get_unit(bad, "visible")


# ---------------------------------------------------------------------------- the cumulant
@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_mean_is_the_derivative_of_the_cumulant(units):
    x = _random(7, 5, seed=1, scale=3.0).requires_grad_()
    bias = _random(5, seed=2)
    (grad,) = torch.autograd.grad(units.cumulant(x, bias).sum(), x)
    torch.testing.assert_close(grad, units.mean_(x.detach().clone()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_cumulant_is_the_log_partition_of_one_unit_given_its_input(units):
    # Gamma(x) = log sum (or integral) over s of exp(-energy(s, b) + s (x - b)), one unit at a time
    x, bias = _random(6, seed=3, scale=2.0), _random(6, seed=4)
    for xi, bi in zip(x, bias):
        def log_f(s, xi=xi, bi=bi):
            return -units.energy(s[:, None], bi[None]) + s * (xi - bi)
        if units.n_states(1) is None:
            expected = _log_integral_1d(log_f)
        else:
            expected = torch.logsumexp(log_f(units.states(1, 0, 2, F64, "cpu")[:, 0]), 0)
        got = units.cumulant(xi.view(1, 1), bi.view(1))[0]
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_relative_and_annealed_cumulants_agree_with_the_cumulant(units):
    x, x2, bias = _random(4, 3, seed=5), _random(4, 3, seed=6), _random(3, seed=7)
    torch.testing.assert_close(units.relative_cumulant(x) - units.relative_cumulant(x2),
                               units.cumulant(x, bias) - units.cumulant(x2, bias))
    k = units.bias_constant(bias)
    torch.testing.assert_close(units.annealed_cumulant(x, 1.0, k), units.cumulant(x, bias))
    torch.testing.assert_close(units.annealed_cumulant(x, 0.0, k),
                               torch.full((4,), units.log_partition_at_zero(3), dtype=F64))


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_log_partition_of_independent_units(units):
    bias = _random(3, seed=8, scale=2.0)
    expected = 0.0
    for bi in bias:  # independent units: a sum of one-unit log partitions
        def log_f(s, bi=bi):
            return -units.energy(s[:, None], bi[None])
        if units.n_states(1) is None:
            expected += float(_log_integral_1d(log_f))
        else:
            expected += float(torch.logsumexp(log_f(units.states(1, 0, 2, F64, "cpu")[:, 0]), 0))
    assert units.log_partition(bias) == pytest.approx(expected, abs=1e-9)
    assert units.log_partition_at_zero(3) == pytest.approx(units.log_partition(torch.zeros(3, dtype=F64)),
                                                           abs=1e-12)


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_energy_splits_into_a_linear_part_and_the_bias_constant(units):
    # energy(s, b) = energy(s, 0) - b.s + bias_constant(b): what AIS's base-model gap relies on
    s, bias = _random(5, 4, seed=9), _random(4, seed=10)
    zero = torch.zeros(4, dtype=F64)
    torch.testing.assert_close(units.energy(s, bias),
                               units.energy(s, zero) - s @ bias + units.bias_constant(bias))


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_log_prob_is_normalised_and_entropy_is_its_expectation(units):
    inputs = _random(1, 1, seed=11, scale=2.0)
    if units.n_states(1) is None:
        s, w = _grid()
        s = s[:, None]
        weights = w
    else:
        s = units.states(1, 0, 2, F64, "cpu")
        weights = torch.ones(len(s), dtype=F64)
    log_p = units.log_prob(s, inputs.expand(len(s), 1))
    p = torch.exp(log_p) * weights
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-9)
    assert float(units.entropy(inputs)[0]) == pytest.approx(float(-(p * log_p).sum()), abs=1e-8)
    # the conditional's mean is mean_(inputs)
    assert float((p * s[:, 0]).sum()) == pytest.approx(float(units.mean_(inputs.clone())), abs=1e-9)


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_base_rate_bias_gives_independent_units_with_the_data_mean(units):
    mean = torch.tensor([0.2, 0.5, 0.9], dtype=F64)
    torch.testing.assert_close(units.mean_(units.base_rate_bias(mean).clone()), mean)


def test_bernoulli_states_enumerate_every_binary_vector_once():
    states = BERNOULLI.states(4, 0, BERNOULLI.n_states(4), F64, "cpu")
    assert states.shape == (16, 4)
    assert len({tuple(row.tolist()) for row in states}) == 16
    assert GAUSSIAN.n_states(4) is None


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_one_value_per_unit(units):
    x = _random(2, 3)
    assert units.n_values(3) == 3 and units.statistics(x) is x


def test_value_ranges():
    assert BERNOULLI.accepts(0.0, 1.0) and not BERNOULLI.accepts(-0.1, 1.0)
    assert not BERNOULLI.accepts(0.0, 1.5) and GAUSSIAN.accepts(-1e30, 1e30)
    assert SPIN.accepts(-1.0, 1.0) and not SPIN.accepts(-1.5, 1.0) and not SPIN.accepts(0.0, 2.0)
    assert SPIN.data_values == (-1.0, 1.0) and BERNOULLI.data_values is GAUSSIAN.data_values is None


def test_spin_states_enumerate_every_sign_vector_once():
    states = SPIN.states(4, 0, SPIN.n_states(4), F64, "cpu")
    assert states.shape == (16, 4) and set(states.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(row.tolist()) for row in states}) == 16
    torch.testing.assert_close(states, 2 * BERNOULLI.states(4, 0, 16, F64, "cpu") - 1)


def test_spin_cumulant_is_log_2_cosh_and_stays_finite_for_large_inputs():
    x = torch.tensor([[-800.0, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0]], dtype=F64)
    got = SPIN.cumulant(x, torch.zeros(7, dtype=F64))
    small = x[:, 1:-1]
    expected_small = torch.log(2 * torch.cosh(small)).sum()
    assert torch.isfinite(got).all()
    # log 2 cosh(x) -> |x| for large |x|
    torch.testing.assert_close(got[0], expected_small + 1600.0, rtol=1e-12, atol=1e-9)
    assert float(SPIN.entropy(x)[0]) == pytest.approx(
        float(SPIN.entropy(small)[0]), abs=1e-9)  # saturated spins add no entropy


# ------------------------------------------------------------------------------------ sampling
def _sources():
    return {"generator": torch.Generator().manual_seed(0), "random_source": RandomSource(0, "cpu")}


@pytest.mark.parametrize("source", ["generator", "random_source"])
def test_bernoulli_sample_frequencies_match_the_means(source):
    p = torch.tensor([0.02, 0.3, 0.5, 0.77, 0.99])
    draws = BERNOULLI.sample(p.expand(N_DRAWS, -1).contiguous(), _sources()[source])
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    sigma = torch.sqrt(p * (1 - p) / N_DRAWS)
    assert ((draws.double().mean(0) - p).abs() < TOLERANCE_SIGMAS * sigma).all()


@pytest.mark.parametrize("source", ["generator", "random_source"])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_spin_sample_frequencies_match_the_means(source, dtype):
    mean = torch.tensor([-0.96, -0.4, 0.0, 0.54, 0.98], dtype=dtype)
    out = torch.empty(N_DRAWS, 5, dtype=dtype)
    draws = SPIN.sample(mean.expand(N_DRAWS, -1).contiguous(), _sources()[source], out=out)
    assert draws is out and set(draws.unique().tolist()) == {-1.0, 1.0}
    p_up = (1 + mean.double()) / 2  # P(s = +1)
    sigma = torch.sqrt(p_up * (1 - p_up) / N_DRAWS)
    assert (((draws.double() == 1).double().mean(0) - p_up).abs() < TOLERANCE_SIGMAS * sigma).all()


@pytest.mark.parametrize("source", ["generator", "random_source"])
def test_gaussian_samples_have_the_mean_and_unit_variance(source):
    mean = torch.tensor([-2.0, 0.0, 3.5])
    draws = GAUSSIAN.sample(mean.expand(N_DRAWS, -1).contiguous(), _sources()[source]).double()
    assert ((draws.mean(0) - mean).abs() < TOLERANCE_SIGMAS / math.sqrt(N_DRAWS)).all()
    # the sample variance of N normals has standard deviation about sqrt(2 / N)
    assert ((draws.var(0) - 1).abs() < TOLERANCE_SIGMAS * math.sqrt(2 / N_DRAWS)).all()


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_sample_from_inputs_matches_the_conditional_mean(units):
    inputs = torch.tensor([-2.0, 0.0, 1.5], dtype=F64)
    draws = units.sample_from_inputs(inputs.expand(N_DRAWS, -1), torch.Generator().manual_seed(1))
    mean = units.mean_(inputs.clone())
    sd = {BERNOULLI: torch.sqrt(mean * (1 - mean)), SPIN: torch.sqrt(1 - mean**2)}.get(
        units, torch.ones_like(mean))
    assert ((draws.mean(0) - mean).abs() < TOLERANCE_SIGMAS * sd / math.sqrt(N_DRAWS)).all()


@pytest.mark.parametrize("units", KINDS, ids=lambda u: u.name)
def test_noise_states(units):
    x = units.noise((N_DRAWS, 2), RandomSource(2, "cpu"), "cpu").double()
    expected_mean, sd = (0.5, 0.5) if units is BERNOULLI else (0.0, 1.0)
    assert ((x.mean(0) - expected_mean).abs() < TOLERANCE_SIGMAS * sd / math.sqrt(N_DRAWS)).all()
    if units is SPIN:
        assert set(x.unique().tolist()) == {-1.0, 1.0}


# ------------------------------------------------------- free energy of a tiny RBM, by brute force
def _brute_force_free_energy(v, W, b, c, visible, hidden):
    """-log of the sum (Bernoulli, spin) or integral (Gaussian, on a grid) of exp(-E(v, h)) over h,
    with E written out from its definition, not through the unit classes."""
    vis = 0.5 * ((v - b) ** 2).sum(1) if visible == "gaussian" else -(v @ b)
    x = v @ W.T  # (B, H)
    if hidden != "gaussian":
        h = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=F64)  # (S, 2)
        h = 2 * h - 1 if hidden == "spin" else h
        log_terms = h @ c + x @ h.T  # (B, S)
        return vis - torch.logsumexp(log_terms, 1)
    g, w = _grid(801, 12.0)
    h1, h2 = torch.meshgrid(g, g, indexing="ij")
    h = torch.stack([h1.flatten(), h2.flatten()], 1)  # (S, 2)
    log_w = torch.log(w[:, None] * w[None, :]).flatten()
    log_terms = -0.5 * ((h - c) ** 2).sum(1) + x @ h.T + log_w
    return vis - torch.logsumexp(log_terms, 1)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian", "spin"])
@pytest.mark.parametrize("hidden", ["bernoulli", "gaussian", "spin"])
def test_free_energy_of_a_tiny_rbm_matches_brute_force(visible, hidden):
    W, b, c = _random(2, 3, seed=12, scale=0.5), _random(3, seed=13), _random(2, seed=14)
    v = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=F64)
    if visible == "spin":
        v = 2 * v - 1
    if visible == "gaussian":
        v = v + _random(3, 3, seed=15)
    expected = _brute_force_free_energy(v, W, b, c, visible, hidden)
    torch.testing.assert_close(m.free_energy(v, W, b, c, visible, hidden), expected,
                               rtol=0, atol=1e-8)
