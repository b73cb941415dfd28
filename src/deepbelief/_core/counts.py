"""Whole-number settings (units, layers, batches, epochs, chains, runs): any integer type
counts, NumPy's ``np.int64`` and ``np.int32`` as well as Python's, but a bool does not.

``True`` is an ``Integral`` to Python and to scikit-learn's ``Interval(Integral, ...)``, so
``RBM(n_components=True)`` would ask for one hidden unit; here it is refused instead.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval


class Count(Interval):
    """``Interval(Integral, low, None, closed="left")`` for ``_parameter_constraints`` that
    refuses bools; scikit-learn's message names it as it names the Interval ("an int in the
    range [1, inf)")."""

    def __init__(self, low):
        super().__init__(Integral, low, None, closed="left")

    def is_satisfied_by(self, val):
        return is_count(val) and super().is_satisfied_by(val)


def is_count(value, low=None):
    """Whether ``value`` is an integer (of any integer type, not a bool), at least ``low``."""
    whole = isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))
    return whole and (low is None or value >= low)


def check_count(name, value, low=1):
    """``value`` as a Python int, or ValueError naming ``name`` when it is not an integer
    ``>= low``."""
    if not is_count(value, low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)
