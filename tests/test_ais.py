"""AIS estimates of log Z and the DBN bound against exact enumeration of small models."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import logsumexp

from deepbelief import DBN, RBM
from deepbelief._core import ais
from deepbelief._core import rbm_math as _rbm_math
from deepbelief.models import likelihood

TOLERANCE = 0.1  # nats: how far an annealed AIS estimate may be from the exact log Z
N_BETAS = 1500  # the standard schedule's shape with fewer steps, to keep the tests fast
F64 = torch.float64
UNIT_PAIRS = [("bernoulli", "bernoulli"), ("gaussian", "bernoulli"), ("bernoulli", "gaussian")]


def random_params(n_visible, n_hidden, scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = scale * torch.randn(n_hidden, n_visible, generator=g, dtype=F64)
    b = 0.5 * torch.randn(n_visible, generator=g, dtype=F64)
    c = 0.5 * torch.randn(n_hidden, generator=g, dtype=F64)
    return W, b, c


def prototypes_data(n_visible, n_samples=300, seed=0, noise=0.1):
    """Binary data around three prototypes: multimodal, so a trained RBM has strong weights."""
    rng = np.random.RandomState(seed)
    protos = rng.rand(3, n_visible) < 0.5
    X = protos[rng.randint(3, size=n_samples)]
    flip = rng.rand(n_samples, n_visible) < noise
    return (X ^ flip).astype(np.float64)


def trained_rbm(visible, hidden, n_visible=18, n_hidden=14, seed=0):
    X = prototypes_data(n_visible, seed=seed)
    if visible == "gaussian":
        X = (X - X.mean(0)) / X.std(0)
    lr = 0.1 if visible == hidden == "bernoulli" else 0.01
    rbm = RBM(n_hidden, visible=visible, hidden=hidden, learning_rate=lr, n_iter=30,
              batch_size=20, random_state=seed, device="cpu").fit(X)
    return rbm, X


def tensors(rbm):
    return [torch.as_tensor(a, dtype=F64) for a in
            (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)]


def ais_run(W, b, c, visible, hidden, seed=1, **kwargs):
    kwargs.setdefault("betas", ais.standard_betas(N_BETAS))
    return ais.ais_log_partition(W, b, c, visible, hidden,
                                 generator=torch.Generator().manual_seed(seed), **kwargs)


# ------------------------------------------------------------------------------ exact maths
def test_exact_log_partition_bernoulli_is_the_full_sum_over_v_and_h():
    W, b, c = random_params(5, 4, 1.0)
    v = np.array(list(itertools.product([0, 1], repeat=5)), dtype=float)
    h = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    Wn, bn, cn = W.numpy(), b.numpy(), c.numpy()
    log_joint = (v @ bn)[:, None] + (h @ cn)[None, :] + v @ Wn.T @ h.T
    assert float(ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli")) == pytest.approx(
        logsumexp(log_joint), abs=1e-10)


def test_exact_log_partition_sums_either_side_alike():
    # 6 visible x 9 hidden enumerates v; the transposed RBM (9 x 6) enumerates its hidden side
    W, b, c = random_params(6, 9, 0.8)
    direct = ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli")
    transposed = ais.exact_log_partition(W.T.contiguous(), c, b, "bernoulli", "bernoulli")
    assert float(direct) == pytest.approx(float(transposed), abs=1e-10)


def grid_log_integral(log_f, n_dims, half_width=12.0, n=401):
    """log of the integral of exp(log_f(x)) over R^n_dims (n_dims <= 2) by a fine grid."""
    axis = np.linspace(-half_width, half_width, n)
    points = np.stack(np.meshgrid(*[axis] * n_dims, indexing="ij"), -1).reshape(-1, n_dims)
    values = np.exp(log_f(torch.as_tensor(points)).numpy()).reshape([n] * n_dims)
    for _ in range(n_dims):
        values = integrate.trapezoid(values, axis, axis=0)
    return math.log(values)


@pytest.mark.parametrize("hidden", ["bernoulli", "gaussian"])
def test_exact_log_partition_gaussian_visible_is_the_integral_of_exp_minus_f(hidden):
    W, b, c = random_params(2, 3, 0.3)
    exact = float(ais.exact_log_partition(W, b, c, "gaussian", hidden))
    numeric = grid_log_integral(lambda v: -ais.free_energy(v, W, b, c, "gaussian", hidden), 2)
    assert exact == pytest.approx(numeric, abs=1e-6)


def test_exact_log_partition_gaussian_hidden_integrates_h():
    W, b, c = random_params(3, 1, 0.6)
    v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=F64)
    # log sum_v int exp(-E(v, h)) dh with E = -b.v + (h - c)^2 / 2 - h.Wv, h on a grid
    log_terms = [
        grid_log_integral(lambda h, row=row: row @ b - 0.5 * (h[:, 0] - c[0]) ** 2
                          + h[:, 0] * (W @ row)[0], 1)
        for row in v
    ]
    exact = float(ais.exact_log_partition(W, b, c, "bernoulli", "gaussian"))
    assert exact == pytest.approx(logsumexp(log_terms), abs=1e-6)


def test_exact_log_partition_refuses_what_it_cannot_sum():
    W, b, c = random_params(40, 30, 0.1)
    with pytest.raises(ValueError, match="ais_log_partition"):
        ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli")
    W, b, c = random_params(3, 2, 2.0)  # singular values above 1: Z is infinite
    with pytest.raises(ValueError, match="positive definite"):
        ais.exact_log_partition(W, b, c, "gaussian", "gaussian")
    with pytest.raises(ValueError, match="'bernoulli', 'gaussian' or 'spin'"):
        ais.exact_log_partition(W, b, c, "binary", "bernoulli")


# ---------------------------------------------------------------------------------- schedules
def test_standard_betas_is_the_usual_schedule():
    betas = ais.standard_betas()
    assert len(betas) == 14501 and betas[0] == 0 and betas[-1] == 1
    steps = betas.diff()
    assert (steps > 0).all()
    torch.testing.assert_close(steps[:500], torch.full((500,), 1e-3, dtype=F64))
    torch.testing.assert_close(steps[500:4500], torch.full((4000,), 1e-4, dtype=F64))
    torch.testing.assert_close(steps[4500:], torch.full((10000,), 1e-5, dtype=F64))
    short = ais.standard_betas(1000)
    assert len(short) == 1000 and short[0] == 0 and short[-1] == 1 and (short.diff() > 0).all()
    assert ((short > 0.9).sum() / len(short)) == pytest.approx(10000 / 14500, abs=0.01)
    with pytest.raises(ValueError, match="n_betas must be at least 4"):
        ais.standard_betas(3)


def test_spaced_betas_and_bad_schedules():
    linear = ais.spaced_betas(5)
    torch.testing.assert_close(linear, torch.tensor([0, 0.25, 0.5, 0.75, 1], dtype=F64))
    geometric = ais.spaced_betas(5, "geometric", start=1e-3)
    torch.testing.assert_close(geometric, torch.tensor([0, 1e-3, 1e-2, 1e-1, 1], dtype=F64))
    W, b, c = random_params(4, 3, 0.5)
    for bad in ([0.0, 0.5], [0.2, 1.0], [0.0, 0.6, 0.4, 1.0]):
        with pytest.raises(ValueError, match="rise from 0 to 1"):
            ais.ais_log_partition(W, b, c, "bernoulli", "bernoulli", betas=bad)


# ---------------------------------------------------------------------------------------- AIS
def assert_close_to_exact(estimate, exact):
    assert abs(estimate.log_z - exact) < TOLERANCE, (estimate, exact)
    assert estimate.log_z_low <= exact <= estimate.log_z_high, (estimate, exact)


@pytest.mark.parametrize("visible, hidden", UNIT_PAIRS)
def test_ais_matches_exact_log_partition_of_a_random_rbm(visible, hidden):
    scale = 1.0 if visible == hidden == "bernoulli" else 0.25
    W, b, c = random_params(18, 14, scale)
    exact = float(ais.exact_log_partition(W, b, c, visible, hidden))
    base = ais.base_rate_bias(torch.rand(50, 18, dtype=F64).round(), visible)
    assert_close_to_exact(ais_run(W, b, c, visible, hidden, base_bias=base), exact)


@pytest.mark.parametrize("visible, hidden", UNIT_PAIRS)
def test_ais_matches_exact_log_partition_of_a_trained_rbm(visible, hidden):
    rbm, X = trained_rbm(visible, hidden)
    W, b, c = tensors(rbm)
    exact = float(ais.exact_log_partition(W, b, c, visible, hidden))
    base = ais.base_rate_bias(torch.as_tensor(X), visible)
    estimate = ais_run(W, b, c, visible, hidden, base_bias=base)
    assert_close_to_exact(estimate, exact)
    # Without annealing the runs are plain importance sampling from the base model: their error
    # (root mean square over seeds, as one run can be lucky) and reported spread are far larger.
    plain = [ais_run(W, b, c, visible, hidden, seed=s, base_bias=base, betas=[0.0, 1.0])
             for s in range(5)]
    rms = math.sqrt(np.mean([(p.log_z - exact) ** 2 for p in plain]))
    assert rms > max(0.3, 10 * abs(estimate.log_z - exact)), (rms, estimate, exact)
    assert min(p.std for p in plain) > 3 * estimate.std


def test_ais_is_reproducible_and_reports_progress():
    W, b, c = random_params(10, 8, 1.0)
    calls = []
    first = ais_run(W, b, c, "bernoulli", "bernoulli", seed=5, betas=ais.standard_betas(350),
                    progress=calls.append)
    again = ais_run(W, b, c, "bernoulli", "bernoulli", seed=5, betas=ais.standard_betas(350))
    other = ais_run(W, b, c, "bernoulli", "bernoulli", seed=6, betas=ais.standard_betas(350))
    torch.testing.assert_close(first.log_weights, again.log_weights, rtol=0, atol=0)
    assert first.log_z == again.log_z != other.log_z
    assert calls == [100, 100, 100, 49]
    assert (first.n_betas, first.n_runs) == (350, 100)


def test_ais_refuses_gaussian_gaussian_and_single_runs():
    W, b, c = random_params(4, 3, 0.2)
    with pytest.raises(ValueError, match="exact_log_partition"):
        ais.ais_log_partition(W, b, c, "gaussian", "gaussian")
    with pytest.raises(ValueError, match="n_runs"):
        ais.ais_log_partition(W, b, c, "bernoulli", "bernoulli", n_runs=1)


def test_log_likelihood_is_minus_free_energy_minus_log_z():
    W, b, c = random_params(8, 6, 1.0)
    v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=8)), dtype=F64)
    log_p = ais.log_probabilities(v, W, b, c, "bernoulli", "bernoulli",
                                  ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli"))
    assert float(torch.logsumexp(log_p, 0)) == pytest.approx(0.0, abs=1e-10)  # sums to one
    log_z = ais_run(W, b, c, "bernoulli", "bernoulli", betas=ais.standard_betas(300))
    assert ais.log_likelihood(v[:20], W, b, c, "bernoulli", "bernoulli", log_z) == pytest.approx(
        float((-ais.free_energy(v[:20], W, b, c, "bernoulli", "bernoulli")).mean()) - log_z.log_z)


# ---------------------------------------------------------------------------------- DBN bound
def binary_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=F64)


def log_bernoulli(x, logits):
    return (x * logits - torch.nn.functional.softplus(logits)).sum(-1)


def exact_dbn(v, layers):
    """Exact log p(v) of a Bernoulli DBN and the exact expectation of its bound over q, by
    enumerating every hidden layer below the top RBM (whose log Z is also exact)."""
    states = [v] + [binary_states(layer[0].shape[0]) for layer in layers[:-1]]
    log_p = -ais.free_energy(states[-1], *layers[-1]) - ais.exact_log_partition(*layers[-1])
    bound = log_p.clone()
    for (W, b, c, _, _), lower, upper in reversed(list(zip(layers, states[:-1], states[1:]))):
        log_down = log_bernoulli(lower[:, None], (upper @ W + b)[None])  # (n_lower, n_upper)
        log_q = log_bernoulli(upper[None], (lower @ W.T + c)[:, None])  # (n_lower, n_upper)
        log_p = torch.logsumexp(log_down + log_p[None], dim=1)
        bound = (log_q.exp() * (log_down - log_q + bound[None])).sum(dim=1)
    return log_p, bound


@pytest.mark.parametrize("sizes", [(10, 7, 6), (8, 7, 6, 5)])
def test_dbn_bound_is_below_the_exact_log_likelihood_and_estimates_its_expectation(sizes):
    layers = [(*random_params(n_in, n_out, 1.0, seed), "bernoulli", "bernoulli")
              for seed, (n_in, n_out) in enumerate(itertools.pairwise(sizes))]
    v = torch.rand(12, sizes[0], generator=torch.Generator().manual_seed(2), dtype=F64).round()
    exact, bound = exact_dbn(v, layers)
    assert (bound <= exact + 1e-12).all()  # Jensen; how tight is checked on a trained DBN below
    log_z_top = ais.exact_log_partition(*layers[-1])
    estimate = ais.dbn_log_likelihood_bound(v, layers, log_z_top, n_samples=4000,
                                            generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(estimate, bound, rtol=0, atol=0.1)


def test_dbn_bound_of_a_single_rbm_is_its_exact_log_likelihood():
    W, b, c = random_params(9, 5, 1.0)
    v = torch.rand(6, 9, generator=torch.Generator().manual_seed(2), dtype=F64).round()
    log_z = ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli")
    bound = ais.dbn_log_likelihood_bound(v, [(W, b, c, "bernoulli", "bernoulli")], log_z, 3)
    expected = ais.log_probabilities(v, W, b, c, "bernoulli", "bernoulli", log_z)
    torch.testing.assert_close(bound, expected)


# ------------------------------------------------------------------- through fitted estimators
def test_rbm_log_likelihood_of_a_fitted_rbm():
    rbm, X = trained_rbm("bernoulli", "bernoulli")
    W, b, c = tensors(rbm)
    exact_log_z = float(ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli"))
    estimate = likelihood.rbm_log_partition(rbm, X, n_betas=N_BETAS, random_state=0)
    assert_close_to_exact(estimate, exact_log_z)
    free_energy = _rbm_math.free_energy(torch.as_tensor(X), W, b, c, "bernoulli", "bernoulli")
    exact = float(-free_energy.mean()) - exact_log_z
    assert likelihood.rbm_log_likelihood(rbm, X, exact_log_z) == pytest.approx(exact, abs=1e-4)
    assert likelihood.rbm_log_likelihood(rbm, X, estimate) == pytest.approx(exact, abs=TOLERANCE)
    fresh = likelihood.rbm_log_likelihood(rbm, X, n_betas=N_BETAS, random_state=0)
    assert fresh == pytest.approx(exact, abs=TOLERANCE)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 18\)"):
        likelihood.rbm_log_likelihood(rbm, X[:, :5], exact_log_z)
    with pytest.raises(ValueError, match="binarize"):
        likelihood.rbm_log_likelihood(rbm, X * 0.5, exact_log_z)


def test_dbn_log_likelihood_bound_of_a_fitted_dbn():
    X = prototypes_data(12, seed=1)
    dbn = DBN([12, 8, 6], n_iter=20, learning_rate=0.1, batch_size=20, random_state=0,
              device="cpu").fit(X)
    layers = [(*tensors(r), r.visible, r.hidden) for r in dbn.rbms_]
    v = torch.as_tensor(X)
    exact, expected_bound = (float(t.mean()) for t in exact_dbn(v, layers))
    bound = likelihood.dbn_log_likelihood_bound(dbn, X, n_samples=50, n_betas=N_BETAS,
                                                random_state=0)
    assert bound == pytest.approx(expected_bound, abs=TOLERANCE)
    assert bound < exact and exact - bound < 1.0


def test_rbm_log_partition_of_a_gaussian_gaussian_rbm_is_exact():
    rng = np.random.RandomState(0)
    rbm = RBM(3, visible="gaussian", hidden="gaussian", learning_rate=0.001, n_iter=2,
              random_state=0, device="cpu").fit(rng.randn(50, 4))
    result = likelihood.rbm_log_partition(rbm)
    expected = ais.exact_log_partition(*tensors(rbm), "gaussian", "gaussian")
    assert result.log_z == pytest.approx(float(expected)) and result.std == 0.0
