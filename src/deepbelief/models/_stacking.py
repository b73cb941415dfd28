"""How a DBN's upper RBMs begin: which fitted RBMs a warm start keeps, and an RBM that starts
as the one below it turned over."""

import numpy as np
from sklearn.utils import check_random_state

UPPER_INITS = ("random", "transpose")


def kept_rbms(fitted, rbms, sizes):
    """How many of the ``fitted`` bottom RBMs match the new ``rbms`` (shapes, unit types)."""
    kept = 0
    for i, (old, new) in enumerate(zip(fitted, rbms)):
        if (old.components_.shape != (sizes[i + 1], sizes[i])
                or (old.visible, old.hidden) != (new.visible, new.hidden)):
            break
        kept += 1
    return kept


def fit_turned_over(rbm, below, H, callback=None):
    """Fit ``rbm`` on ``H`` starting from ``below`` turned over (Hinton et al. 2006).

    Its first ``n_visible(below)`` hidden units get ``below``'s weights transposed and visible
    biases, its visible biases are ``below``'s hidden biases, and the other hidden units get
    N(0, 0.01^2) weights and zero biases (near-constant factors). Its marginal over the layer
    below then starts at ``below``'s own p(h), so the DBN's variational bound starts at
    ``below``'s log-likelihood, and training can only be asked to improve on it.
    """
    n_below = below.components_.shape[1]
    if rbm.n_components < n_below or rbm.visible != below.hidden or rbm.hidden != below.visible:
        raise ValueError(
            f"upper_init='transpose' needs an upper RBM with at least as many hidden units as "
            f"the RBM below has visible units ({n_below}) and the unit types swapped, got "
            f"{rbm.n_components} {rbm.hidden} hidden units on {below.n_components} "
            f"{below.hidden} ones; use upper_init='random' or a wider layer."
        )
    rbm.random_state_ = check_random_state(rbm.random_state)
    rbm.n_features_in_ = below.n_components
    rbm._init_params(H)
    W = rbm.components_.copy()
    W[:n_below] = below.components_.T
    c = np.zeros(rbm.n_components, dtype=np.float32)
    c[:n_below] = below.intercept_visible_
    rbm.components_, rbm.intercept_hidden_ = W.astype(np.float32), c
    rbm.intercept_visible_ = below.intercept_hidden_.astype(np.float32, copy=True)
    warm_start = rbm.warm_start
    rbm.set_params(warm_start=True)  # fit from these weights instead of new ones
    try:
        rbm.fit(H, callback=callback)
    finally:
        rbm.set_params(warm_start=warm_start)
    return rbm
