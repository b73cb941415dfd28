"""Model files: exact round trips, resumable training, tamper detection, atomic writes."""

import json
import os
import struct

import numpy as np
import pytest

import deepbelief
from deepbelief import RBM, load
from deepbelief._core.files import atomic_write_bytes


@pytest.fixture
def fitted():
    X = np.random.RandomState(0).rand(60, 12)
    rbm = RBM(5, method="pcd", k=2, momentum=(0.5, 0.9), n_iter=3, batch_size=16, random_state=3, device="cpu")
    return rbm.fit(X), X


def test_round_trip_is_exact(fitted, tmp_path):
    rbm, X = fitted
    path = rbm.save(tmp_path / "model.safetensors")
    again = load(path)
    assert type(again) is RBM and again.get_params() == rbm.get_params()
    assert again.momentum == (0.5, 0.9)  # tuples survive JSON
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(rbm, name))
    np.testing.assert_array_equal(again.transform(X), rbm.transform(X))
    assert again.history_ == rbm.history_ and again.n_features_in_ == 12


def test_loaded_model_resumes_training_exactly(fitted, tmp_path):
    rbm, X = fitted
    load_then_train = load(rbm.save(tmp_path / "m.safetensors")).partial_fit(X)
    rbm.partial_fit(X)
    np.testing.assert_array_equal(load_then_train.components_, rbm.components_)
    assert load_then_train.n_iter_ == 4


def test_file_holds_no_pickle_only_tensors_and_json(fitted, tmp_path):
    rbm, _ = fitted
    path = rbm.save(tmp_path / "m.safetensors")
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    description = json.loads(header["__metadata__"]["deepbelief"])
    assert description["class"] == "RBM" and description["format"] == "deepbelief"
    assert description["library_version"] == deepbelief.__version__
    assert b"\x80\x04" not in raw[: 8 + header_len]  # no pickle protocol marker in the header


def test_tampered_weights_fail_the_integrity_check(fitted, tmp_path):
    rbm, _ = fitted
    path = rbm.save(tmp_path / "m.safetensors")
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF  # flip bits inside the last tensor
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="integrity check"):
        load(path)


def test_tampered_description_fails_the_integrity_check(fitted, tmp_path):
    rbm, _ = fitted
    path = rbm.save(tmp_path / "m.safetensors")
    raw = path.read_bytes()
    edited = raw.replace(b'\\"n_components\\": 5', b'\\"n_components\\": 6')
    assert edited != raw
    path.write_bytes(edited)
    with pytest.raises(ValueError, match="integrity check"):
        load(path)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not a readable deepbelief model"),
        (b"hello world, not a model", "not a readable deepbelief model"),
    ],
)
def test_garbage_files_are_rejected(tmp_path, content, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_truncated_file_is_rejected(fitted, tmp_path):
    rbm, _ = fitted
    path = rbm.save(tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a readable deepbelief model"):
        load(path)


def test_plain_safetensors_file_is_not_a_model(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, dtype=np.float32)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(ValueError, match="not a deepbelief model"):
        load(tmp_path / "x.safetensors")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load(tmp_path / "nope.safetensors")


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RBM().save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_file_whose_state_does_not_fit_the_class_is_refused_clearly(fitted, tmp_path):
    from deepbelief.models import modelfile as dbio

    rbm, _ = fitted
    arrays, state = rbm._get_state()
    del state["n_iter_"]
    description = json.dumps({"format": "deepbelief", "format_version": 1, "class": "RBM",
                              "library_version": "0.0.1", "params": dbio._encode(rbm.get_params()),
                              "state": dbio._encode(state)}, sort_keys=True)
    from safetensors.numpy import save_file

    path = tmp_path / "old.safetensors"
    save_file(arrays, str(path), metadata={"deepbelief": description,
                                          "sha256": dbio._digest(description, arrays)})
    with pytest.raises(ValueError, match="cannot read.*re-train"):
        load(path)
