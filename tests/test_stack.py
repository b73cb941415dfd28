"""One helper answers "where are this model's RBMs?" for every model kind."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from deepbelief import DBN, RBM, DBNClassifier, DeepAutoencoder
from deepbelief.models.stack import generative_part, rbm_stack

X, y = load_digits(return_X_y=True)
X = (X / 16.0)[:200]
y = y[:200]
FAST = dict(batch_size=50, random_state=0, device="cpu")


def test_an_rbm_is_its_own_stack():
    rbm = RBM(8, n_iter=1, **FAST).fit(X)
    assert generative_part(rbm) is rbm and rbm_stack(rbm) == [rbm]


def test_a_dbn_gives_its_rbms_bottom_first():
    dbn = DBN([64, 16, 8], n_iter=1, **FAST).fit(X)
    assert generative_part(dbn) is dbn
    assert [r.n_components for r in rbm_stack(dbn)] == [16, 8]


@pytest.mark.parametrize("make", [
    lambda: DBNClassifier((16, 8), pretrain_n_iter=1, n_iter=1, **FAST).fit(X, y),
    lambda: DeepAutoencoder([64, 16, 8], pretrain_n_iter=1, n_iter=1, **FAST).fit(X),
])
def test_fine_tuned_nets_give_their_pretrained_stack(make):
    model = make()
    assert generative_part(model) is model.dbn_
    assert [r.n_components for r in rbm_stack(model)] == [16, 8]
    np.testing.assert_array_equal(rbm_stack(model)[0].components_, model.dbn_.rbms_[0].components_)


def test_a_net_without_pretraining_has_no_stack():
    clf = DBNClassifier((8,), pretrain=False, n_iter=1, **FAST).fit(X, y)
    assert generative_part(clf) is None and rbm_stack(clf) == []


def test_unfitted_and_foreign_models_are_refused():
    with pytest.raises(NotFittedError):
        rbm_stack(RBM(4))
    with pytest.raises(TypeError, match="RBM, DBN or DBM"):
        rbm_stack(object())


def test_a_dbm_and_its_classifier_give_their_layers_as_rbms():
    from deepbelief import DBM, DBMClassifier

    dbm = DBM((None, 16, 8), pretrain_n_iter=1, n_iter=1, **FAST).fit(X)
    layers = rbm_stack(dbm)
    assert generative_part(dbm) is dbm and [r.n_components for r in layers] == [16, 8]
    np.testing.assert_array_equal(layers[1].components_, dbm.weights_[1])
    np.testing.assert_array_equal(layers[1].intercept_visible_, dbm.biases_[1])
    # going down, a layer view is the DBM's conditional of the layer below given the one above
    h2 = np.eye(8)[:3]
    expected = 1 / (1 + np.exp(-(h2 @ dbm.weights_[1] + dbm.biases_[1])))
    np.testing.assert_allclose(layers[1].inverse_transform(h2), expected, rtol=1e-5)
    clf = DBMClassifier((16, 8), n_iter=1, **FAST).fit(X, y, dbm=dbm)
    assert generative_part(clf) is dbm and len(rbm_stack(clf)) == 2
