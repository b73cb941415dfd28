"""The formulas of an RBM, as small functions on torch tensors.

Energy with Bernoulli or unit-variance Gaussian units on either side::

    E(v, h) = vis(v) + hid(h) - v W^T h
    vis(v)  = -b.v              (bernoulli)    or  |v - b|^2 / 2   (gaussian)
    hid(h)  = -c.h              (bernoulli)    or  |h - c|^2 / 2   (gaussian)

``W`` has the layout of scikit-learn's ``components_``: shape (n_hidden, n_visible).
What depends on the kind of unit comes from its class in ``units``; ``visible`` and ``hidden``
are their names (or ``Units`` themselves).
Everything here works on a batch ``(B, n)`` and never touches global torch state.
"""

import torch
import torch.nn.functional as F

from .units import UNITS, get_unit

UNIT_TYPES = tuple(UNITS)  # every kind: what an RBM takes
STACKED_UNIT_TYPES = ("bernoulli", "gaussian")  # what DBNs, autoencoders and classifiers take so far


def mean_hiddens(v, W, c, hidden, out=None):
    """E[h | v]: sigmoid of the input for Bernoulli units, the input itself for Gaussian."""
    x = torch.addmm(c, v, W.T, out=out)  # (B, n_hidden)
    return get_unit(hidden).mean_(x)


def mean_visibles(h, W, b, visible, out=None):
    """E[v | h]: sigmoid of the input for Bernoulli units, the input itself for Gaussian."""
    x = torch.addmm(b, h, W, out=out)  # (B, n_visible)
    return get_unit(visible).mean_(x)


def sample_units(mean, kind, source, out=None):
    """Draw states given their means: Bernoulli coin flips or unit-variance Gaussian noise.

    ``source`` is a ``_backend.RandomSource`` (or a ``torch.Generator``). The states go to
    ``out`` if given (a tensor of mean's shape and dtype), else to a new tensor.
    """
    return get_unit(kind).sample(mean, source, out=out)


def free_energy(v, W, b, c, visible, hidden):
    """F(v) = -log sum_h exp(-E(v, h)), shape (B,): the visible units' bias energy minus the
    hidden units' cumulant given v (Gaussian hiddens integrate in closed form)."""
    x = torch.addmm(c, v, W.T)  # (B, n_hidden)
    return get_unit(visible).energy(v, b) - get_unit(hidden).cumulant(x, c)


def gibbs_chain(
    h, W, b, c, visible, hidden, n_steps, source, sample_last=True, first_v_mean=None,
    v_out=None, h_mean_out=None,
):
    """Run ``n_steps`` of h -> v -> h from hidden states ``h``.

    Returns the last visible sample, the mean of the last hiddens given it, and a sample of them
    (``None`` when ``sample_last`` is false: CD-k does not need it, and it costs random numbers).
    ``first_v_mean``, if the caller already has E[v | h], saves the first step's product.
    ``v_out`` and ``h_mean_out``, if given, receive the last visible sample and hidden mean.
    """
    visible, hidden = get_unit(visible), get_unit(hidden)
    v = h_mean = None
    for step in range(n_steps):
        last = step == n_steps - 1
        v_mean = first_v_mean if step == 0 and first_v_mean is not None else mean_visibles(h, W, b, visible)
        v = sample_units(v_mean, visible, source, out=v_out if last else None)
        h_mean = mean_hiddens(v, W, c, hidden, out=h_mean_out if last else None)
        h = sample_units(h_mean, hidden, source) if sample_last or not last else None
    return v, h_mean, h


PLL_TERMS = 2**25  # (row, visible, hidden) terms of pseudo_log_likelihood held at once


def pseudo_log_likelihood(v, W, b, c, hidden, chunk_size=None, visible="bernoulli"):
    """Exact sum over every visible unit i of log p(v_i | v_-i) for binary ``v``, shape (B,)
    (0/1 for Bernoulli visible units, -1/+1 for spins).

    Flipping unit i changes the hidden input by +-W[:, i] (+-2 W[:, i] for a spin), so all flips of a chunk of rows are
    one broadcast instead of n_visible free-energy evaluations. A chunk holds 64 rows, fewer
    for wide models (at most about ``PLL_TERMS`` terms: 128 MB of float32).
    """
    hidden = get_unit(hidden)
    if chunk_size is None:
        chunk_size = min(64, max(1, PLL_TERMS // (W.shape[0] * W.shape[1])))
    out = torch.empty(v.shape[0], dtype=v.dtype, device=v.device)
    for start in range(0, v.shape[0], chunk_size):
        vc = v[start : start + chunk_size]  # (B, V)
        if visible == "spin":
            sign = -2.0 * vc  # the change of each spin when it flips
        else:
            sign = 1.0 - 2.0 * vc  # +1 where the flip turns a unit on
        x = torch.addmm(c, vc, W.T)  # (B, H)
        x_flip = x[:, None, :] + sign[:, :, None] * W.T[None, :, :]  # (B, V, H)
        hid_flip = hidden.relative_cumulant(x_flip)  # (B, V): c^2 terms cancel in differences
        hid = hidden.relative_cumulant(x)
        # F(flipped) - F(v) = -b_i sign_i - change of the hidden cumulant
        delta = -sign * b - (hid_flip - hid[:, None])  # (B, V)
        out[start : start + chunk_size] = F.logsigmoid(delta).sum(dim=1)
    return out
