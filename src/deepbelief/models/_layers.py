"""Layer lists and per-layer settings of a stack of RBMs, checked against the data."""

import numpy as np

from .._core.counts import is_count


def layer_sizes(layers, n_features):
    """Check a layer list against the data and return it as ints, ``None`` replaced by the width.

    ``layers[0]`` is the number of input units; ``None`` there means "as many as X has features".
    """
    sizes = list(layers) if isinstance(layers, (list, tuple, np.ndarray)) else None
    if sizes is None or len(sizes) < 2:
        raise ValueError(
            "layers must be a list of at least two layer sizes, input first "
            f"(e.g. [{n_features}, 500, 500]), got {layers!r}."
        )
    if sizes[0] is None:
        sizes[0] = n_features
    bad = [s for s in sizes if not is_count(s, 1)]
    if bad:
        raise ValueError(f"layers must hold positive integers, got {layers!r}.")
    if sizes[0] != n_features:
        raise ValueError(
            f"layers[0]={sizes[0]} but X has {n_features} features; set layers[0] to "
            f"{n_features} (or None) or pass the right data."
        )
    return [int(s) for s in sizes]


def expand_per_layer(name, value, n_rbms):
    """One value per RBM: a list (or, except for momentum, a tuple) is per RBM, else repeated.

    A tuple ``momentum`` is a (start, end) ramp shared by every RBM, as for ``RBM``.
    """
    per_layer = isinstance(value, (list, np.ndarray)) or (
        isinstance(value, tuple) and not name.endswith("momentum")
    )
    if not per_layer:
        return [value] * n_rbms
    values = list(value)
    if len(values) != n_rbms:
        hint = ""
        if name.endswith("momentum"):
            hint = " (for a momentum ramp pass a tuple, e.g. (0.5, 0.9))"
        raise ValueError(
            f"{name} has {len(values)} entries but the network has {n_rbms} RBMs (one per "
            f"hidden layer); give one value per RBM or a single value for all{hint}."
        )
    return values


def hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list of ints (an int means one hidden layer)."""
    sizes = hidden_layer_sizes
    if is_count(sizes):
        sizes = [sizes]
    sizes = list(sizes)
    if not sizes or not all(is_count(s, 1) for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a non-empty list of positive integers, the sizes of the "
            f"hidden layers only (e.g. (500, 500, 2000)), got {hidden_layer_sizes!r}."
        )
    return [int(s) for s in sizes]
