"""Model files whose fields contradict their tensors do not load: each case below is re-signed
with a valid digest, so only the checks of ``models/_file_checks.py`` stand in its way, and
the one ValueError names the file and the field."""

import json

import numpy as np
import pytest

from deepbelief import DBM, RBM, DBNClassifier, load
from deepbelief.cli import main
from test_modelfile_fuzz import read_file, write_signed

X = np.random.RandomState(0).rand(40, 12)


@pytest.fixture(scope="module")
def pcd_file(tmp_path_factory):
    """(arrays, description) of a PCD RBM with momentum: 5 hidden units on 12 features."""
    rbm = RBM(5, method="pcd", momentum=(0.5, 0.9), n_iter=2, batch_size=16, random_state=3,
              device="cpu").fit(X)
    return read_file(rbm.save(tmp_path_factory.mktemp("pcd") / "model.safetensors"))


def refused(tmp_path, arrays, description, match):
    path = write_signed(tmp_path / "model.safetensors", arrays, description)
    with pytest.raises(ValueError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def edited(saved, replace=None):
    """A copy of ``saved`` with the arrays in ``replace`` put in (None drops one)."""
    base, description = saved
    arrays = {**base, **(replace or {})}
    return {k: v for k, v in arrays.items() if v is not None}, json.loads(json.dumps(description))


def test_persistent_chains_of_the_wrong_width_are_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file, {"persistent": np.zeros((16, 7), np.float32)})
    message = refused(tmp_path, arrays, description, r"field 'persistent' has shape \(16, 7\)")
    assert "5 hidden units" in message and "re-train" in message


def test_momentum_buffers_of_the_wrong_shape_are_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file, {"velocity.1": np.zeros(13, np.float32)})
    refused(tmp_path, arrays, description, r"field 'velocity.1' has shape \(13,\)")


def test_a_partial_set_of_momentum_buffers_is_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file, {"velocity.1": None})
    refused(tmp_path, arrays, description, "field 'velocity.1' is missing")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_weights_holding_nan_or_inf_are_refused(pcd_file, tmp_path, value):
    W = pcd_file[0]["components_"].copy()
    W[2, 3] = value
    arrays, description = edited(pcd_file, {"components_": W})
    refused(tmp_path, arrays, description, "field 'components_' holds NaN or infinite")


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32"])
def test_weights_of_another_dtype_are_refused(pcd_file, tmp_path, dtype):
    arrays, description = edited(pcd_file, {"components_": pcd_file[0]["components_"].astype(dtype)})
    refused(tmp_path, arrays, description, f"field 'components_' has dtype {dtype}")


def test_weights_with_a_third_axis_are_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file, {"components_": pcd_file[0]["components_"][None]})
    refused(tmp_path, arrays, description, r"field 'components_' has shape \(1, 5, 12\)")


def test_n_features_in_disagreeing_with_the_weights_is_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file)
    description["state"]["n_features_in_"] = 13
    refused(tmp_path, arrays, description, r"'components_' has shape \(5, 12\).*\(5, 13\).*n_features_in_")


def test_n_components_disagreeing_with_the_weights_is_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file)
    description["params"]["n_components"] = 6
    refused(tmp_path, arrays, description, r"field 'components_' has shape \(5, 12\).*\(6, 12\)")


@pytest.mark.parametrize("version", ["1", 1.0, None, True, 0])
def test_a_format_version_that_is_not_a_whole_number_is_refused(pcd_file, tmp_path, version):
    arrays, description = edited(pcd_file)
    description["format_version"] = version
    refused(tmp_path, arrays, description, f"version {version!r}")


def test_a_newer_format_version_asks_for_an_upgrade(pcd_file, tmp_path):
    arrays, description = edited(pcd_file)
    description["format_version"] = 2
    refused(tmp_path, arrays, description, "upgrade deepbelief")


@pytest.mark.parametrize("key", ["params", "state"])
def test_a_list_where_an_object_belongs_is_refused(pcd_file, tmp_path, key):
    arrays, description = edited(pcd_file)
    description[key] = list(description[key].values())
    refused(tmp_path, arrays, description, f"field '{key}' must be an object")


def test_a_description_that_is_not_a_json_object_is_refused(pcd_file, tmp_path):
    arrays, _ = pcd_file
    path = tmp_path / "model.safetensors"
    write_signed(path, arrays, ["deepbelief"])
    with pytest.raises(ValueError, match="not a JSON object"):
        load(path)


@pytest.mark.parametrize("name, value, match", [
    ("n_components", "5", "n_components"),
    ("visible", "foo", "visible"),
    ("momentum", [0.5, 1.5], "momentum"),
    ("n_jobs", 0, "n_jobs"),
    ("dropout", 0.5, "'dropout', which is not a parameter of RBM"),
])
def test_parameters_of_the_wrong_type_or_range_are_refused(pcd_file, tmp_path, name, value, match):
    arrays, description = edited(pcd_file)
    description["params"][name] = value
    message = refused(tmp_path, arrays, description, "field 'params'")
    assert match in message


@pytest.mark.parametrize("field, value, match", [
    ("n_iter_", -1, "field 'n_iter_' must be at least 0"),
    ("n_iter_", 2.0, "field 'n_iter_' must be an integer"),
    ("history_", [1, 2], "field 'history_' must be an object"),
    ("history_", {"epoch": [1]}, "field 'history_' has no 'reconstruction_error'"),
    ("random_state_", {"kind": "MT19937", "pos": "1", "has_gauss": 0, "cached": 0.0},
     "field 'random_state_.pos' must be an integer"),
    ("random_state_", {"kind": "MT19937", "pos": 1}, "field 'random_state_.has_gauss'"),
])
def test_state_fields_of_the_wrong_type_are_refused(pcd_file, tmp_path, field, value, match):
    arrays, description = edited(pcd_file)
    description["state"][field] = value
    refused(tmp_path, arrays, description, match)


def test_a_random_state_of_the_wrong_shape_or_dtype_is_refused(pcd_file, tmp_path):
    keys = pcd_file[0]["random_state_.keys"]
    refused(tmp_path, *edited(pcd_file, {"random_state_.keys": keys[:600]}),
            r"'random_state_.keys' has shape \(600,\)")
    refused(tmp_path, *edited(pcd_file, {"random_state_.keys": keys.astype(np.int64)}),
            "'random_state_.keys' has dtype int64")


def test_an_array_no_model_reads_is_refused(pcd_file, tmp_path):
    arrays, description = edited(pcd_file, {"velocity.3": np.zeros(5, np.float32)})
    refused(tmp_path, arrays, description, "field 'velocity.3' is not part of this model")


def test_a_huge_batch_size_in_an_old_cd_file_allocates_nothing(tmp_path):
    rbm = RBM(4, n_iter=1, batch_size=25, random_state=0, device="cpu").fit(X)
    arrays, description = read_file(rbm.save(tmp_path / "cd.safetensors"))
    del arrays["h_samples_"]  # the layout of deepbelief 0.1.0: no chains
    description["params"]["batch_size"] = 10**12
    old = load(write_signed(tmp_path / "old.safetensors", arrays, description))
    assert old.h_samples_.shape == (10**12, 4) and old.h_samples_.strides[0] == 0
    again = load(old.save(tmp_path / "again.safetensors"))  # re-saving stores no chains either
    assert again.h_samples_.shape == (10**12, 4)
    np.testing.assert_array_equal(again.transform(X), rbm.transform(X))
    description["params"]["batch_size"] = 10**30
    refused(tmp_path, arrays, description, "batch_size=10{30}")


def test_dbm_chains_and_base_rates_must_fit_the_layers(tmp_path):
    Xb = (X > 0.5).astype(float)
    dbm = DBM((None, 6, 4), pretrain_n_iter=1, n_iter=1, n_chains=7, batch_size=10,
              random_state=0, device="cpu").fit(Xb)
    saved = read_file(dbm.save(tmp_path / "dbm.safetensors"))
    refused(tmp_path, *edited(saved, {"chains.1": np.zeros((8, 6), np.float32)}),
            r"field 'chains.1' has shape \(8, 6\) but the model needs \(7, 6\)")
    refused(tmp_path, *edited(saved, {"velocity.4": np.zeros(5, np.float32)}),
            r"field 'velocity.4' has shape \(5,\)")
    refused(tmp_path, *edited(saved, {"layer_means_.2": np.full(4, 1.5, np.float32)}),
            r"field 'layer_means_.2' must hold means of units in \[0, 1\]")
    arrays, description = edited(saved)
    description["state"]["layer_sizes_"] = [12, 6, 5]
    refused(tmp_path, arrays, description, r"field 'weights_.1' has shape \(4, 6\)")
    arrays, description = edited(saved)
    description["state"]["pretrain_history_"] = {"epoch": []}
    refused(tmp_path, arrays, description, "field 'pretrain_history_' must be a list")


def test_classifier_labels_and_nested_models_must_fit_the_layers(tmp_path):
    clf = DBNClassifier((6,), pretrain_n_iter=1, n_iter=1, batch_size=10, random_state=0,
                        device="cpu").fit(X, np.arange(40) % 3)
    saved = read_file(clf.save(tmp_path / "clf.safetensors"))
    for labels, match in [([0, 1], "must be a list of 3 labels"), ([0, 2, 1], "sorted order"),
                          ([0, 1, 1.5], "not of dtype int64")]:
        arrays, description = edited(saved)
        description["state"]["classes_"] = labels
        refused(tmp_path, arrays, description, f"field 'classes_'.*{match}")
    arrays, description = edited(saved)
    description["state"]["classes_dtype"] = "<U2000000000"
    refused(tmp_path, arrays, description, "field 'classes_dtype'")
    refused(tmp_path, *edited(saved, {"dbn_.layers.0.persistent": np.zeros((3, 2), np.float32)}),
            r"field 'dbn_.layers.0.persistent' has shape \(3, 2\)")
    arrays, description = edited(saved)
    description["state"]["dbn_"]["state"]["layers"][0]["state"]["n_iter_"] = -4
    refused(tmp_path, arrays, description, "field 'dbn_.layers.0.n_iter_' must be at least 0")
    arrays, description = edited(saved)
    description["state"]["dbn_"]["params"] = ["not", "an", "object"]
    refused(tmp_path, arrays, description, "field 'dbn_.params' must be an object")


def test_an_error_the_checks_miss_still_names_the_file(pcd_file, tmp_path, monkeypatch):
    def broken(self, saved):
        raise KeyError("something")

    monkeypatch.setattr(RBM, "_set_state", broken)
    message = refused(tmp_path, *edited(pcd_file), "could not be rebuilt")
    assert "KeyError" in message and "re-train" in message


@pytest.mark.parametrize("command", [
    ["evaluate", "{model}", "--data", "digits"],
    ["predict", "{model}", "{inputs}"],
    ["sample", "{model}", "--out", "{out}"],
    ["reconstruct", "{model}", "{inputs}", "--out", "{out}"],
])
def test_the_cli_refuses_a_crafted_file_in_one_line(pcd_file, tmp_path, capsys, command):
    arrays, description = edited(pcd_file, {"persistent": np.zeros((16, 7), np.float32)})
    model = write_signed(tmp_path / "model.safetensors", arrays, description)
    inputs = tmp_path / "inputs.csv"
    inputs.write_text(",".join(f"p{i}" for i in range(12)) + "\n" + ",".join(["0"] * 12) + "\n")
    args = [a.format(model=model, inputs=inputs, out=tmp_path / "out.png") for a in command]
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "field 'persistent' has shape (16, 7)" in lines[0], err
    assert not (tmp_path / "out.png").exists()
