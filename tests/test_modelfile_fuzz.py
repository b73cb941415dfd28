"""Model files edited at random and re-signed with a valid digest either load as a whole model
(finite predictions of the right sizes, training state that fits the weights) or are refused
with ValueError: never another exception, NaN, or a model that contradicts itself."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.numpy import save as safetensors_bytes

from deepbelief import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder, load
from deepbelief.models import modelfile

X = (np.random.RandomState(0).rand(12, 6) > 0.5).astype(np.float32)
Y = np.arange(12) % 3
FAST = dict(batch_size=5, random_state=0, device="cpu")


def _models():
    """Tiny fitted models of every class, with every kind of training state saved."""
    return {
        "pcd_rbm": RBM(4, method="pcd", momentum=(0.5, 0.9), n_iter=2, **FAST).fit(X),
        "gaussian_rbm": RBM(3, visible="gaussian", learning_rate=0.01, n_iter=2, **FAST).fit(X),
        "dbn": DBN([6, 4, 3], method=["pcd", "cd"], n_iter=1, **FAST).fit(X),
        "dbn_classifier": DBNClassifier((4,), pretrain_n_iter=1, n_iter=1, **FAST).fit(X, Y),
        "autoencoder": DeepAutoencoder([6, 4, 2], pretrain_n_iter=1, n_iter=1, **FAST).fit(X),
        "dbm": DBM((None, 4, 3), pretrain_n_iter=1, n_iter=1, n_chains=4, **FAST).fit(X),
        "dbm_classifier": DBMClassifier((4, 3), pretrain_n_iter=1, dbm_n_iter=1, n_iter=1,
                                        **FAST).fit(X, Y),
    }


def read_file(path):
    """(arrays, description) of a model file."""
    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["deepbelief"])


def write_signed(path, arrays, description):
    """Write a model file with a valid digest, whatever it holds."""
    text = json.dumps(description, sort_keys=True)
    metadata = {"deepbelief": text, "sha256": modelfile._digest(text, arrays)}
    path.write_bytes(safetensors_bytes(arrays, metadata=metadata))
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (arrays, description, path to write edits to) of each tiny model's file."""
    folder = tmp_path_factory.mktemp("fuzz")
    files = {}
    for name, model in _models().items():
        arrays, description = read_file(model.save(folder / f"{name}.safetensors"))
        files[name] = (arrays, description, folder / f"{name}-edited.safetensors")
    return files


# ------------------------------------------------------------------------------ edits
def json_paths(value, path=()):
    """Every place in a JSON value; a training record only down to its lists."""
    yield path
    if path and path[-1] in ("history_", "pretrain_history_"):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        yield from (path + (k,) for k, _ in children)
    elif isinstance(value, dict):
        for key, v in value.items():
            yield from json_paths(v, path + (key,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from json_paths(v, path + (i,))


def replacements(value):
    """Values to put where ``value`` was: near misses of its type, and other types."""
    others = ["5", "foo", None, [], {}, True, 1.5, [1, 2], {"__tuple__": 3}]
    if isinstance(value, bool):
        return [not value, 0, 1, "true"] + others
    if isinstance(value, int):
        return [value + 1, value - 1, 0, -1, -value, 2 * value + 3, str(value), float(value),
                [value]] + others
    if isinstance(value, float):
        return [value * 2, -value, 0.0, math.nan, math.inf, str(value)] + others
    if isinstance(value, str):
        return ["", value + "x", "gaussian", "pcd", "<f8", "<U1", "O", 1] + others
    if isinstance(value, list):
        return [value[:-1], value + value[-1:], value[::-1], [value], {"x": value}] + others
    if isinstance(value, dict):
        return [{k: v for k, v in list(value.items())[:-1]}, {**value, "extra": 1},
                list(value.values())] + others
    return others


def edit_description(data, description):
    paths = list(json_paths(description))
    path = data.draw(st.sampled_from(paths), label="path")
    if not path:
        return data.draw(st.sampled_from([[description], "x", None, {}]), label="whole")
    parent = description
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(st.sampled_from(replacements(parent[path[-1]])), label="value")
    return description


def edit_arrays(data, arrays):
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    a = arrays[name]
    kind = data.draw(st.sampled_from(["drop", "extra", "rename", "row+", "row-", "column+", "3d",
                                      "flat", "transpose", "dtype", "nan", "inf", "scale"]),
                     label="edit")
    if kind == "drop":
        del arrays[name]
    elif kind == "extra":
        arrays[name + "x"] = a.copy()
    elif kind == "rename":
        arrays[name.replace(".0", ".7") if ".0" in name else name + "_"] = arrays.pop(name)
    elif kind == "row+":
        arrays[name] = np.concatenate([a, a[:1]])
    elif kind == "row-" and len(a) > 1:
        arrays[name] = a[1:]
    elif kind == "column+" and a.ndim == 2:
        arrays[name] = np.concatenate([a, a[:, :1]], axis=1)
    elif kind == "3d":
        arrays[name] = a[None]
    elif kind == "flat":
        arrays[name] = a.reshape(-1)
    elif kind == "transpose":
        arrays[name] = np.ascontiguousarray(a.T)
    elif kind == "dtype":
        dtype = data.draw(st.sampled_from(["float16", "float64", "int32", "uint8", "bool"]))
        with np.errstate(invalid="ignore", over="ignore"):
            arrays[name] = a.astype(dtype)
    elif kind in ("nan", "inf") and a.dtype.kind == "f" and a.size:
        a = a.copy()
        a.flat[data.draw(st.integers(0, a.size - 1), label="at")] = np.nan if kind == "nan" else -np.inf
        arrays[name] = a
    elif kind == "scale" and a.dtype.kind == "f":
        arrays[name] = (a * 3).astype(a.dtype)
    return arrays


# --------------------------------------------------------------------------- a whole model
def finite(a, shape):
    a = np.asarray(a)
    assert a.shape == shape and np.isfinite(a).all(), (a.shape, shape)


def assert_rbm_whole(rbm, X):
    finite(rbm.transform(X), (len(X), rbm.n_components))
    for v, p in zip(rbm._velocity or [], rbm._param_arrays()):
        assert v.shape == p.shape
    assert len(rbm._velocity or [1, 2, 3]) == 3
    for chains in (rbm._persistent, rbm.h_samples_):
        assert chains is None or chains.shape[1:] == (rbm.n_components,)


def assert_whole(model, X):
    """The loaded model predicts finite values of the right sizes, and its training state fits."""
    n = len(X)
    if isinstance(model, RBM):
        assert_rbm_whole(model, X)
        finite(model.sample(2, burn_in=2, thin=1), (2, X.shape[1]))
    elif isinstance(model, DBN):
        for rbm in model.rbms_:
            assert_rbm_whole(rbm, np.zeros((1, rbm.n_features_in_)))
        finite(model.transform(X), (n, model.layer_sizes_[-1]))
        finite(model.reconstruct(X), X.shape)
        finite(model.sample(2, burn_in=2, thin=1), (2, X.shape[1]))
    elif isinstance(model, DBM):
        sizes = model.layer_sizes_
        finite(model.transform(X), (n, sizes[-1]))
        finite(model.sample(2, burn_in=2, thin=1), (2, X.shape[1]))
        assert [m.shape for m in model.layer_means_] == [(s,) for s in sizes]
        params = model.weights_ + model.biases_
        assert [v.shape for v in model._velocity or params] == [p.shape for p in params]
        assert [c.shape[1] for c in model._chains or []] in ([], sizes)
    elif isinstance(model, (DBNClassifier, DBMClassifier)):
        proba = model.predict_proba(X)
        finite(proba, (n, len(model.classes_)))
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
        assert set(model.predict(X)) <= set(model.classes_)
        part = model.dbn_ if isinstance(model, DBNClassifier) else model.dbm_
        if part is not None:
            assert_whole(part, X)
    elif isinstance(model, DeepAutoencoder):
        finite(model.transform(X), (n, model.layer_sizes_[-1]))
        finite(model.reconstruct(X), X.shape)
        if model.dbn_ is not None:
            assert_whole(model.dbn_, X)
    else:
        raise AssertionError(f"unexpected class {type(model).__name__}")


def test_unedited_files_load_whole(saved):
    for arrays, description, path in saved.values():
        assert_whole(load(write_signed(path, arrays, description)), X)


@pytest.mark.parametrize("name", ["pcd_rbm", "gaussian_rbm", "dbn", "dbn_classifier",
                                  "autoencoder", "dbm", "dbm_classifier"])
@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_an_edited_file_loads_whole_or_is_refused_with_value_error(saved, name, data):
    arrays, description, path = saved[name]
    arrays, description = dict(arrays), json.loads(json.dumps(description))
    for _ in range(data.draw(st.integers(1, 2), label="edits")):
        if data.draw(st.booleans(), label="edit the description"):
            description = edit_description(data, description)
        else:
            arrays = edit_arrays(data, arrays)
        if not isinstance(description, dict):
            break
    write_signed(path, arrays, description)
    try:
        model = load(path)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert_whole(model, X)
