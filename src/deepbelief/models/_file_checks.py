"""Reading a model's part of a model file through checks, so that a loaded model is whole.

The SHA-256 in a model file shows that the file was not damaged after it was written, not that
what it says is true: anyone can write a file with a valid digest. So every model reads its
arrays and JSON state through ``Saved``, whose reads check each array's dtype, shape and values
and each field's JSON type against what the model needs, and raise one ValueError naming the
field. Nothing is allocated from a size the file claims before the arrays confirm it.
"""

import numpy as np

from .._core.threads import resolve_n_jobs

_MISSING = object()
_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true or false",
          int: "an integer", float: "a number", type(None): "null"}
_RNG_KEYS = 624  # the MT19937 state words of a NumPy RandomState
_LABEL_KINDS = "biufU"  # numpy kinds of labels a classifier can have: bool, ints, floats, strings
_SLACK_CHARS = 1024  # a string label dtype may be this much wider than its longest label


def _is(value, kind):
    """JSON ``value`` is of Python type ``kind`` (or one of a tuple); true and false are not
    numbers, and integers are numbers."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, tuple(k for k in kinds if k is not bool))


def _kind_text(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_KINDS[k] for k in kinds)


def _value_text(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shape_text(shape):
    dims = ["any" if n is None else str(n) for n in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


class Saved:
    """One model's arrays and JSON state from a model file, read through checks.

    Parameters
    ----------
    arrays : dict of str to ndarray
        Every tensor of the file, by name.
    state : dict
        This model's JSON state.
    where : str, default=""
        The prefix of this model's names in the file ("dbn_.layers.1." for the second RBM of a
        classifier's DBN); errors name fields with it.
    read : set, optional
        The names of the arrays read so far, shared by the models nested in one file so that
        ``check_all_read`` sees them all.
    """

    def __init__(self, arrays, state, where="", read=None):
        self._arrays, self.where = arrays, where
        self._read = set() if read is None else read  # array names read, shared with nested models
        if not isinstance(state, dict):
            self.fail("state", f"must be an object, got {_value_text(state)}.")
        self._state = state

    def fail(self, field, problem):
        """Refuse the file: ``field`` (a name in this model) has ``problem``."""
        raise ValueError(f"field '{self.where}{field}' {problem}")

    # ----------------------------------------------------------------------------- arrays
    def has(self, name):
        return self.where + name in self._arrays

    def array(self, name, shape, *, dtype=np.float32, means=""):
        """The array ``name``, of ``dtype``, finite, of ``shape`` (ints; None is any size >= 1).

        ``means`` says what the shape is made of, for the error message.
        """
        key = self.where + name
        if key not in self._arrays:
            self.fail(name, "is missing" + (f": the model needs {means}." if means else "."))
        self._read.add(key)
        a = self._arrays[key]
        if a.dtype != np.dtype(dtype):
            self.fail(name, f"has dtype {a.dtype} but must be {np.dtype(dtype)}.")
        if a.ndim != len(shape) or any(
            (n is None and m < 1) or (n is not None and n != m) for n, m in zip(shape, a.shape)
        ):
            self.fail(name, f"has shape {a.shape} but the model needs {_shape_text(shape)}"
                      + (f": {means}." if means else "."))
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            self.fail(name, "holds NaN or infinite values; a saved model never does.")
        return a

    def optional_array(self, name, shape, **kwargs):
        """``array(name, ...)``, or None when the file has no such array."""
        return self.array(name, shape, **kwargs) if self.has(name) else None

    def count(self, name):
        """How many arrays ``name.0``, ``name.1``, ... the file has in a row."""
        n = 0
        while self.has(f"{name}.{n}"):
            n += 1
        return n

    def array_list(self, name, shapes, **kwargs):
        """Arrays ``name.0``, ``name.1``, ... with one shape each from ``shapes``."""
        return [self.array(f"{name}.{i}", shape, **kwargs) for i, shape in enumerate(shapes)]

    def optional_array_list(self, name, shapes, **kwargs):
        """``array_list``, or None when the file has none of them (not when it has some)."""
        return self.array_list(name, shapes, **kwargs) if self.count(name) else None

    def check_all_read(self):
        """Refuse arrays that no model read: a file holds nothing it does not explain."""
        for key in sorted(set(self._arrays) - self._read):
            raise ValueError(f"field '{key}' is not part of this model; a saved model has no "
                             "such array.")

    # ------------------------------------------------------------------------ JSON fields
    def value(self, name, kind, *, default=_MISSING):
        """The JSON field ``name``, of Python type ``kind`` (or a tuple of them).

        ``default`` is returned when the field is absent; without one, absence is an error.
        """
        if name not in self._state:
            if default is _MISSING:
                self.fail(name, "is missing.")
            return default
        value = self._state[name]
        if not _is(value, kind):
            self.fail(name, f"must be {_kind_text(kind)}, got {_value_text(value)}.")
        if isinstance(value, float) and not np.isfinite(value):
            self.fail(name, f"must be finite, got {value}.")
        return value

    def integer(self, name, minimum=0, **kwargs):
        """An integer field of at least ``minimum`` (null allowed only as a ``default``)."""
        value = self.value(name, int, **kwargs)
        if isinstance(value, int) and value < minimum:
            self.fail(name, f"must be at least {minimum}, got {value}.")
        return value

    def sizes(self, name, min_length):
        """A list of at least ``min_length`` positive integers (layer sizes)."""
        sizes = self.value(name, list)
        if len(sizes) < min_length or not all(_is(s, int) and s >= 1 for s in sizes):
            self.fail(name, f"must be a list of at least {min_length} positive integers, got "
                      f"{_value_text(sizes)}.")
        return sizes

    def history(self, name, keys):
        """A training record: an object of equally long lists, with at least ``keys``.

        Entries are numbers, strings, null or lists of numbers (one epoch's batch errors).
        """
        history = self.value(name, dict)
        return check_history(history, keys, lambda problem: self.fail(name, problem))

    def history_list(self, name, keys):
        """A list of training records (one per RBM), each as in ``history``."""
        histories = self.value(name, list)
        for i, history in enumerate(histories):
            if not isinstance(history, dict):
                self.fail(f"{name}[{i}]", f"must be an object, got {_value_text(history)}.")
            check_history(history, keys, lambda problem, i=i: self.fail(f"{name}[{i}]", problem))
        return histories

    def stopping(self, name):
        """How fine-tuning stopped (``backprop.train``'s outcome), or None (absent: 0.1.0)."""
        stopping = self.value(name, (dict, type(None)), default=None)
        if stopping is None:
            return None
        kinds = {"epochs_run": int, "planned_epochs": int, "best_epoch": (int, type(None)),
                 "stopped_early": bool, "reason": str}
        for key, kind in kinds.items():
            if not _is(stopping.get(key, _MISSING), kind):
                self.fail(f"{name}.{key}", f"must be {_kind_text(kind)}, got "
                          f"{_value_text(stopping.get(key, 'nothing'))}.")
        return stopping

    def labels(self, name, dtype_name, n_classes):
        """A classifier's labels: ``n_classes`` sorted distinct values in the field ``name``, of
        the NumPy dtype named in the field ``dtype_name`` (numbers and strings survive JSON)."""
        text = self.value(dtype_name, str)
        try:
            dtype = np.dtype(text)
        except (TypeError, ValueError):
            dtype = None
        if dtype is None or dtype.kind not in _LABEL_KINDS:
            self.fail(dtype_name, f"must name a bool, integer, float or string dtype, got "
                      f"{_value_text(text)}.")
        values = self.value(name, list)
        if len(values) != n_classes or not all(_is(v, (bool, int, float, str)) for v in values):
            self.fail(name, f"must be a list of {n_classes} labels, one per output unit, got "
                      f"{_value_text(values)}.")
        longest = max((len(v) for v in values if isinstance(v, str)), default=0)
        if dtype.kind == "U" and dtype.itemsize // 4 > longest + _SLACK_CHARS:
            self.fail(dtype_name, f"is {dtype}, far wider than the longest label "
                      f"({longest} characters).")
        try:
            classes = np.array(values, dtype=dtype)
        except (ValueError, TypeError, OverflowError):
            classes = None
        if classes is None or classes.tolist() != values:
            self.fail(name, f"holds labels that are not of dtype {dtype}: {_value_text(values)}.")
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            self.fail(name, "holds NaN or infinite labels.")
        if not np.array_equal(np.unique(classes), classes):
            self.fail(name, f"must hold distinct labels in sorted order, got {_value_text(values)}.")
        return classes

    def random_state(self, name="random_state_"):
        """The NumPy RandomState saved as the array ``{name}.keys`` and the field ``name``."""
        keys = self.array(f"{name}.keys", (_RNG_KEYS,), dtype=np.uint32,
                          means="the 624 words of a MT19937 generator")
        info = self.value(name, dict)
        kinds = {"kind": str, "pos": int, "has_gauss": int, "cached": float}
        for key, kind in kinds.items():
            if not _is(info.get(key, _MISSING), kind):
                self.fail(f"{name}.{key}", f"must be {_kind_text(kind)}, got "
                          f"{_value_text(info.get(key, 'nothing'))}.")
        if set(info) != set(kinds):
            self.fail(name, f"must have exactly the keys {sorted(kinds)}, got {sorted(info)}.")
        if info["kind"] != "MT19937" or not 0 <= info["pos"] <= _RNG_KEYS \
                or info["has_gauss"] not in (0, 1) or not np.isfinite(info["cached"]):
            self.fail(name, f"is not the state of a NumPy RandomState: {_value_text(info)}.")
        rng = np.random.RandomState()
        rng.set_state((info["kind"], keys, info["pos"], info["has_gauss"], info["cached"]))
        return rng

    # ---------------------------------------------------------------- parameters, models
    def check_params(self, *checks):
        """Run parameter checks (callables raising ValueError) as checks of ``params``."""
        for check in checks:
            try:
                check()
            except ValueError as exc:  # sklearn's InvalidParameterError is a ValueError
                self.fail("params", f"is not valid: {exc}")

    def model(self, name, cls, *, optional=False):
        """The estimator kept in field ``name`` (``{"params": ..., "state": ...}``), whose arrays
        are prefixed ``name.``; None for a null field when ``optional``."""
        if optional:
            saved = self.value(name, (dict, type(None)), default=None)
        else:
            saved = self.value(name, dict)
        return None if saved is None else self._nested(saved, name, cls)

    def models(self, name, cls):
        """The list of estimators in field ``name``; the i-th one's arrays are ``name.i.``."""
        saved = self.value(name, list)
        return [self._nested(one, f"{name}.{i}", cls) for i, one in enumerate(saved)]

    def _nested(self, saved, name, cls):
        if not isinstance(saved, dict) or set(saved) != {"params", "state"}:
            self.fail(name, f"must be an object with 'params' and 'state', got {_value_text(saved)}.")
        inner = Saved(self._arrays, saved["state"], f"{self.where}{name}.", self._read)
        return build(cls, saved["params"], inner)


def check_history(history, keys, fail):
    """``fail(problem)`` unless ``history`` is an object of equally long lists with ``keys``."""
    missing = [key for key in keys if key not in history]
    if missing:
        fail(f"has no {missing[0]!r} list; the model records one per epoch.")
    lengths = set()
    for key, values in history.items():
        if not isinstance(values, list):
            fail(f"must hold lists, but its {key!r} is {_value_text(values)}.")
        if not all(_is(v, (int, float, str, type(None)))
                   or (isinstance(v, list) and all(_is(x, float) for x in v)) for v in values):
            fail(f"holds an entry in {key!r} that is not a number, a string or a list of numbers.")
        lengths.add(len(values))
    if len(lengths) > 1:
        fail("must hold lists of one length (one entry per epoch).")
    return history


def build(cls, params, saved):
    """A fitted ``cls`` from the file's ``params`` and its ``saved`` state, everything checked:
    the parameters by the estimator's own validation, the state by its ``_set_state``."""
    if not isinstance(params, dict):
        saved.fail("params", f"must be an object, got {_value_text(params)}.")
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        saved.fail("params", f"holds {unknown[0]!r}, which is not a parameter of {cls.__name__}.")
    estimator = cls(**params)
    saved.check_params(estimator._validate_params,
                       lambda: resolve_n_jobs(getattr(estimator, "n_jobs", None)))
    return estimator._set_state(saved)

