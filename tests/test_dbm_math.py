"""DBM formulas against brute-force enumeration of every state of tiny DBMs."""

import itertools

import pytest
import torch

from deepbelief._core import cd, dbm_pcd
from deepbelief._core import dbm_ais as da
from deepbelief._core import dbm_math as dm
from deepbelief._core.backend import RandomSource

F64 = torch.float64


def random_dbm(sizes, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = [scale * torch.randn(n_out, n_in, generator=g, dtype=F64)
               for n_in, n_out in itertools.pairwise(sizes)]
    biases = [0.5 * torch.randn(n, generator=g, dtype=F64) for n in sizes]
    return weights, biases


def all_states(sizes):
    """Every configuration of every layer: a list of (S, n_l) tensors, S = 2^sum(sizes)."""
    flat = torch.tensor(list(itertools.product([0.0, 1.0], repeat=sum(sizes))), dtype=F64)
    return list(torch.split(flat, list(sizes), dim=1))


def brute_log_z(weights, biases):
    return torch.logsumexp(-dm.energy(all_states([len(b) for b in biases]), weights, biases), 0)


def brute_log_p(v, weights, biases):
    """log p(v) of each row by summing exp(-E) over every hidden configuration."""
    sizes = [len(b) for b in biases]
    hidden = all_states(sizes[1:])
    out = []
    for row in v:
        states = [row.expand(len(hidden[0]), -1)] + hidden
        out.append(torch.logsumexp(-dm.energy(states, weights, biases), 0))
    return torch.stack(out) - brute_log_z(weights, biases)


def brute_moments(weights, biases):
    """Exact E_model[x_{l+1} x_l^T] and E_model[x_l] by enumeration."""
    states = all_states([len(b) for b in biases])
    p = torch.softmax(-dm.energy(states, weights, biases), 0)
    pairs = [(states[i + 1] * p[:, None]).T @ states[i] for i in range(len(weights))]
    return pairs, [p @ x for x in states]


SIZES = [(5, 4, 3), (4, 3, 3, 2)]


# -------------------------------------------------------------------------------- exact sums
@pytest.mark.parametrize("sizes", SIZES)
def test_exact_log_partition_is_the_sum_over_every_state(sizes):
    weights, biases = random_dbm(sizes)
    assert float(da.exact_log_partition(weights, biases)) == pytest.approx(
        float(brute_log_z(weights, biases)), abs=1e-10)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("keep", ["even", "odd"])
def test_log_marginal_sums_the_other_parity_out(sizes, keep):
    weights, biases = random_dbm(sizes, seed=1)
    states = all_states(sizes)
    kept = list(dm.even_layers(len(sizes)) if keep == "even" else dm.odd_layers(len(sizes)))
    # group the brute-force states by the kept layers' configuration
    key = torch.cat([states[i] for i in kept], dim=1)
    codes = (key * 2 ** torch.arange(key.shape[1], dtype=F64)).sum(1).long()
    log_terms = -dm.energy(states, weights, biases)
    n_codes = 2 ** key.shape[1]
    expected = torch.stack([torch.logsumexp(log_terms[codes == c], 0) for c in range(n_codes)])
    first = torch.stack([(codes == c).nonzero()[0, 0] for c in range(n_codes)])
    marginal = dm.log_marginal([s[first] for s in states], weights, biases, keep)
    torch.testing.assert_close(marginal, expected)


@pytest.mark.parametrize("sizes", SIZES)
def test_exact_log_probabilities_match_brute_force_and_sum_to_one(sizes):
    weights, biases = random_dbm(sizes, seed=2)
    v = all_states([sizes[0]])[0]
    log_p = da.exact_log_probabilities(v, weights, biases)
    torch.testing.assert_close(log_p, brute_log_p(v, weights, biases))
    assert float(torch.logsumexp(log_p, 0)) == pytest.approx(0.0, abs=1e-10)


def test_exact_sums_refuse_too_many_units():
    weights, biases = random_dbm((30, 30, 30), scale=0.1)
    assert not da.enumerable(biases)
    with pytest.raises(ValueError, match="AIS"):
        da.exact_log_partition(weights, biases)


# ------------------------------------------------------------------------------ conditionals
def test_layer_input_gives_the_conditional_of_a_layer_given_its_neighbours():
    sizes = (5, 4, 3)
    weights, biases = random_dbm(sizes, seed=3)
    states = [torch.rand(7, n, generator=torch.Generator().manual_seed(n), dtype=F64).round()
              for n in sizes]
    for layer in range(len(sizes)):
        # p(x_l,j = 1 | rest) = 1 / (1 + exp(E(on) - E(off)))
        x = dm.layer_input(states, weights, biases, layer)
        for j in range(sizes[layer]):
            on, off = [s.clone() for s in states], [s.clone() for s in states]
            on[layer][:, j], off[layer][:, j] = 1.0, 0.0
            gap = dm.energy(on, weights, biases) - dm.energy(off, weights, biases)
            torch.testing.assert_close(torch.sigmoid(x[:, j]), torch.sigmoid(-gap))


# -------------------------------------------------------------------------------- mean field
def test_mean_field_reaches_a_fixed_point_and_never_lowers_the_bound():
    weights, biases = random_dbm((5, 4, 3), scale=1.5, seed=4)
    v = all_states([5])[0]
    mus = dm.bottom_up(v, weights, biases)
    bounds = [dm.variational_bound(mus, weights, biases)]
    for _ in range(60):
        mus, _ = dm.mean_field(v, weights, biases, 1, mus=mus)
        bounds.append(dm.variational_bound(mus, weights, biases))
    steps = torch.stack(bounds).diff(dim=0)
    assert (steps > -1e-12).all()
    for layer in (1, 2):
        torch.testing.assert_close(mus[layer], torch.sigmoid(dm.layer_input(mus, weights, biases, layer)))
    converged, n_done = dm.mean_field(v, weights, biases, 500, tol=1e-10)
    assert n_done < 500
    torch.testing.assert_close(converged[2], mus[2])


@pytest.mark.parametrize("sizes", SIZES)
def test_bound_is_below_log_p_and_tight_when_the_posterior_is_factorial(sizes):
    v = all_states([sizes[0]])[0]
    for coupling, max_gap in ((1.5, None), (0.02, 1e-3)):
        weights, biases = random_dbm(sizes, seed=5)
        weights[1:] = [coupling * W for W in weights[1:]]  # weak coupling above h1: factorial
        log_p = brute_log_p(v, weights, biases)
        mus, _ = dm.mean_field(v, weights, biases, 200)
        bound = dm.variational_bound(mus, weights, biases) - brute_log_z(weights, biases)
        assert (bound <= log_p + 1e-10).all()
        if max_gap is not None:
            assert float((log_p - bound).max()) < max_gap
        else:
            assert float((log_p - bound).mean()) > 0.01  # a coupled posterior is not factorial
    # Mean field maximises the bound: other factorial posteriors give less.
    other = [v] + [torch.full_like(m, 0.5) for m in mus[1:]]
    assert (dm.variational_bound(other, weights, biases) <= dm.variational_bound(mus, weights, biases)).all()


# ---------------------------------------------------------------------- sampling and gradients
def test_gibbs_chains_reach_the_exact_model_statistics():
    sizes = (5, 4, 3)
    weights, biases = random_dbm(sizes, scale=0.8, seed=6)
    exact_pairs, exact_means = brute_moments(weights, biases)
    source = RandomSource(0, "cpu")
    w32, b32 = [W.float() for W in weights], [b.float() for b in biases]
    chains = dbm_pcd.init_chains(torch.rand(4000, 5, generator=torch.Generator().manual_seed(0)),
                                 w32, b32, source)
    pairs = [torch.zeros_like(p) for p in exact_pairs]
    n_kept = 0
    for sweep in range(60):
        dm.gibbs_sweep(chains, w32, b32, source)
        if sweep >= 20:
            stats = dm.rao_blackwell(chains, w32, b32)
            for total, lower, upper in zip(pairs, stats[:-1], stats[1:]):
                total += (upper.T @ lower).double() / len(upper)
            n_kept += 1
    for total, exact in zip(pairs, exact_pairs):
        torch.testing.assert_close(total / n_kept, exact, rtol=0, atol=0.006)


def test_pcd_gradient_is_the_gradient_of_the_bound_minus_log_z():
    sizes = (5, 4, 3)
    weights, biases = random_dbm(sizes, scale=0.8, seed=7)
    v = torch.rand(30, 5, generator=torch.Generator().manual_seed(1), dtype=F64).round()
    # Autograd: d/dW of mean(E_q[-E] + H(q)) - log Z at the mean-field fixed point (q held
    # fixed there: it maximises the bound) and of the exact log Z.
    mus, _ = dm.mean_field(v, weights, biases, 300)
    params = [p.clone().requires_grad_(True) for p in weights + biases]
    w, b = params[: len(weights)], params[len(weights):]
    objective = dm.variational_bound([m.detach() for m in mus], w, b).mean()
    objective = objective - da.exact_log_partition(w, b)
    expected = torch.autograd.grad(objective, params)
    # The estimate: mean-field data statistics minus long-run Gibbs statistics (many chains).
    source = RandomSource(1, "cpu")
    w32, b32 = [W.float() for W in weights], [x.float() for x in biases]
    chains = dbm_pcd.init_chains(torch.rand(3000, 5, generator=torch.Generator().manual_seed(2)),
                                 w32, b32, source)
    estimates = []
    for step in range(40):
        data, model = dbm_pcd.pcd_statistics(v.float(), chains, w32, b32, 50, 1, source)
        if step >= 10:
            grad_w, grad_b = dbm_pcd.gradient(data, model)
            estimates.append(grad_w + grad_b)
    mean = [torch.stack(parts).mean(0).double() for parts in zip(*estimates)]
    for got, want in zip(mean, expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0.008)


def test_momentum_update_adds_the_gradient_and_decays_only_weights():
    W, b = torch.ones(2, 3), torch.ones(3)
    velocity = [torch.zeros(2, 3), torch.zeros(3)]
    grads = ([torch.full((2, 3), 2.0)], [torch.full((3,), 2.0)])
    dbm_pcd.momentum_update([W], [b], velocity, grads, lr=0.1, mom=0.5, weight_decay=0.5)
    torch.testing.assert_close(W, torch.full((2, 3), 1.0 + 0.1 * (2.0 - 0.5)))
    torch.testing.assert_close(b, torch.full((3,), 1.2))
    dbm_pcd.momentum_update([W], [b], velocity, grads, lr=0.1, mom=0.5, weight_decay=0.0)
    torch.testing.assert_close(b, torch.full((3,), 1.2 + 0.5 * 0.2 + 0.2))


# --------------------------------------------------------------------------------- pretraining
@pytest.mark.parametrize("k", [1, 3])
def test_scaled_cd_with_unit_scales_is_plain_cd(k):
    g = torch.Generator().manual_seed(0)
    W, b, c = 0.3 * torch.randn(6, 9, generator=g), torch.randn(9, generator=g), torch.randn(6, generator=g)
    v0 = torch.rand(8, 9, generator=g).round()
    plain, _, plain_error = cd.contrastive_divergence(v0, W, b, c, "bernoulli", "bernoulli", k,
                                                      RandomSource(3, "cpu"))
    scaled, _, scaled_error = dbm_pcd.scaled_contrastive_divergence(v0, W, b, c, 1.0, 1.0, k,
                                                                    RandomSource(3, "cpu"))
    torch.testing.assert_close(scaled.weight_gradient(), plain.weight_gradient(), rtol=0, atol=0)
    torch.testing.assert_close(scaled.grad_c, plain.grad_c, rtol=0, atol=0)
    assert float(scaled_error) == float(plain_error)


def test_scaled_cd_doubles_the_input_it_is_asked_to():
    g = torch.Generator().manual_seed(1)
    W, b, c = 0.3 * torch.randn(6, 9, generator=g), torch.randn(9, generator=g), torch.randn(6, generator=g)
    v0 = torch.rand(8, 9, generator=g).round()
    stats, _, _ = dbm_pcd.scaled_contrastive_divergence(v0, W, b, c, 2.0, 1.0, 1, RandomSource(0, "cpu"))
    h0 = torch.sigmoid(2 * v0 @ W.T + c)  # the positive phase sees the visible layer twice
    torch.testing.assert_close(stats.A[:8], h0)
    v1 = stats.B[8:]
    torch.testing.assert_close(-stats.A[8:], torch.sigmoid(2 * v1 @ W.T + c))
    assert dbm_pcd.pretraining_scales(2) == [(2.0, 1.0), (1.0, 2.0)]
    assert dbm_pcd.pretraining_scales(3) == [(2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]


def test_scaled_cd_samples_its_input_when_asked():
    g = torch.Generator().manual_seed(2)
    W, b, c = 0.3 * torch.randn(6, 9, generator=g), torch.randn(9, generator=g), torch.randn(6, generator=g)
    p = torch.linspace(0.0, 1.0, 9).expand(4000, 9).contiguous()
    stats, _, _ = dbm_pcd.scaled_contrastive_divergence(p, W, b, c, 2.0, 1.0, 1, RandomSource(0, "cpu"),
                                                        sample_input=True)
    v = stats.B[:4000]
    assert set(torch.unique(v).tolist()) == {0.0, 1.0}
    # P(1) is the grey value: 4,000 draws per column, so 4 standard errors are under 0.032
    torch.testing.assert_close(v.mean(0), p[0], rtol=0, atol=0.032)
    torch.testing.assert_close(stats.A[:4000], torch.sigmoid(2 * v @ W.T + c))  # it sees the draws
    assert torch.equal(p, torch.linspace(0.0, 1.0, 9).expand(4000, 9))  # the caller's rows stay
    binary = (p > 0.5).float()
    stats, _, _ = dbm_pcd.scaled_contrastive_divergence(binary, W, b, c, 2.0, 1.0, 1,
                                                        RandomSource(0, "cpu"), sample_input=True)
    assert torch.equal(stats.B[:4000], binary)
