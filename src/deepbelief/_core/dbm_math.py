"""The formulas of a Deep Boltzmann Machine with Bernoulli units, on torch tensors.

Layers ``x[0] = v, x[1] = h1, ..., x[L]``; ``weights[l]`` joins layer l to layer l + 1 with
scikit-learn's ``components_`` layout, shape (n_{l+1}, n_l); ``biases[l]`` is layer l's bias::

    E(x) = -sum_l biases[l] . x[l] - sum_l x[l + 1]^T weights[l] x[l]

Given its two neighbours every layer is factorial,
``p(x[l] = 1 | rest) = sigmoid(biases[l] + weights[l - 1] x[l - 1] + weights[l]^T x[l + 1])``,
so the odd layers are independent given the even ones and the other way round. That gives
block Gibbs sampling (odd layers, then even layers), mean field by block coordinate ascent, and
free energies with one parity summed out in closed form (``log_marginal``).
Everything works on a batch ``(B, n)`` of each layer and never touches global torch state.
The units' formulas (mean, sampling, summing a layer out) come from ``units.BERNOULLI``.
"""

import torch

from .units import BERNOULLI

UNITS = BERNOULLI  # the units of every layer


def layer_input(states, weights, biases, layer):
    """Total input of ``layer`` from its neighbours in ``states`` (a list with one (B, n_l)
    tensor per layer; the entry of ``layer`` itself is not read), shape (B, n_layer)."""
    below = states[layer - 1] if layer > 0 else None
    above = states[layer + 1] if layer + 1 < len(states) else None
    if below is None:
        return torch.addmm(biases[layer], above, weights[layer])
    x = torch.addmm(biases[layer], below, weights[layer - 1].T)
    if above is not None:
        x.addmm_(above, weights[layer])
    return x


def odd_layers(n_layers):
    return range(1, n_layers, 2)


def even_layers(n_layers):
    return range(0, n_layers, 2)


def bottom_up(v, weights, biases):
    """The recognition pass that starts mean field: every hidden layer but the top one gets
    twice its input from below, standing in for the input from above that it lacks
    (Salakhutdinov & Hinton 2009). Returns ``[v, mu_1, ..., mu_L]``."""
    mus = [v]
    for layer, W in enumerate(weights, start=1):
        scale = 2.0 if layer < len(weights) else 1.0
        mus.append(UNITS.mean_(torch.addmm(biases[layer], mus[-1], W.T, alpha=scale)))
    return mus


def mean_field(v, weights, biases, n_steps, mus=None, tol=0.0):
    """Factorial posteriors q(h_l = 1 | v) by block coordinate ascent on the variational bound.

    One step updates every odd hidden layer from its neighbours, then every even one. Each
    block update maximises the bound over that block exactly (its units are independent given
    the others), so the bound never decreases and no damping is needed.

    Parameters
    ----------
    v : tensor of shape (B, n_visible)
    n_steps : int
        At most this many steps (0 returns the starting point).
    mus : list of tensors, optional
        Where to start (``[v, mu_1, ..., mu_L]``, updated in place); default ``bottom_up``.
    tol : float, default=0
        Stop early once no mean moved by more than ``tol`` in a step.

    Returns
    -------
    mus : list of tensors
        ``[v, mu_1, ..., mu_L]``.
    n_done : int
        Steps taken.
    """
    mus = bottom_up(v, weights, biases) if mus is None else mus
    n_layers = len(mus)
    from_v = torch.addmm(biases[1], v, weights[0].T)  # layer 1's input from v never changes
    hidden = [*odd_layers(n_layers), *even_layers(n_layers)[1:]]
    for step in range(n_steps):
        change = 0.0
        for layer in hidden:
            if layer == 1:
                x = from_v.clone() if n_layers == 2 else torch.addmm(from_v, mus[2], weights[1])
            else:
                x = layer_input(mus, weights, biases, layer)
            new = UNITS.mean_(x)
            if tol:
                change = max(change, float((new - mus[layer]).abs().max()))
            mus[layer] = new
        if tol and change < tol:
            return mus, step + 1
    return mus, n_steps


def gibbs_sweep(states, weights, biases, source):
    """One block Gibbs sweep in place: sample the odd layers given the even ones, then the even
    layers (the visible one included) given the odd ones. ``source`` is a ``RandomSource``."""
    n_layers = len(states)
    for group in (odd_layers(n_layers), even_layers(n_layers)):
        for layer in group:
            mean = UNITS.mean_(layer_input(states, weights, biases, layer))
            states[layer] = UNITS.sample(mean, source)
    return states


def rao_blackwell(states, weights, biases):
    """``states`` with every odd layer replaced by its mean given the even layers: the same
    expectations of products of neighbouring layers as the samples, with less noise."""
    out = list(states)
    for layer in odd_layers(len(states)):
        out[layer] = UNITS.mean_(layer_input(states, weights, biases, layer))
    return out


def energy(states, weights, biases):
    """E(x) of each configuration, shape (B,). Multilinear, so for factorial distributions
    ``energy(means)`` is the expected energy."""
    e = sum(UNITS.energy(x, b) for x, b in zip(states, biases))
    for layer, W in enumerate(weights):
        e = e - ((states[layer + 1] @ W) * states[layer]).sum(dim=1)
    return e


def bernoulli_entropy(mu):
    """Entropy of factorial Bernoulli units with means ``mu``, summed per row, shape (B,)."""
    return -(torch.xlogy(mu, mu) + torch.xlogy(1 - mu, 1 - mu)).sum(dim=1)


def variational_bound(mus, weights, biases):
    """E_q[-E(v, h)] + H(q) for the factorial q with means ``mus = [v, mu_1, ..., mu_L]``,
    shape (B,): the lower bound on log p(v) + log Z (Salakhutdinov & Hinton 2009, eq. 6)."""
    return -energy(mus, weights, biases) + sum(bernoulli_entropy(mu) for mu in mus[1:])


def log_marginal(states, weights, biases, keep="even"):
    """log of the sum of exp(-E) over every layer of the other parity, for the given states of
    the layers of parity ``keep`` ("even": v, h2, ...; "odd": h1, h3, ...), shape (B,).

    The summed layers are factorial given the kept ones, so each contributes
    ``sum_j softplus(input_j)``; entries of ``states`` for the summed layers are not read.
    """
    n_layers = len(states)
    kept, summed = even_layers(n_layers), odd_layers(n_layers)
    if keep == "odd":
        kept, summed = summed, kept
    total = sum(-UNITS.energy(states[layer], biases[layer]) for layer in kept)
    for layer in summed:
        total = total + UNITS.cumulant(layer_input(states, weights, biases, layer), biases[layer])
    return total
