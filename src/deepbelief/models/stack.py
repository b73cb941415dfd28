"""Where a model keeps its RBMs: one answer for every model kind."""

from sklearn.utils.validation import check_is_fitted

from ._finetuned import FineTunedNet
from .dbm import DBM
from .dbm_classifier import DBMClassifier
from .dbn import DBN
from .rbm import RBM


def generative_part(model):
    """The RBM, DBN or DBM of ``model`` that can sample and reconstruct, or None.

    An RBM, DBN or DBM is its own generative part; a fine-tuned network (``DBNClassifier``,
    ``DeepAutoencoder``) has the pretrained stack it started from, ``dbn_``, and a
    ``DBMClassifier`` its ``dbm_``; either is None when it was trained with ``pretrain=False``.

    Raises
    ------
    TypeError
        ``model`` is not a deepbelief model.
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    """
    if isinstance(model, (RBM, DBN, DBM)):
        check_is_fitted(model)
        return model
    if isinstance(model, DBMClassifier):
        check_is_fitted(model)
        return model.dbm_
    if isinstance(model, FineTunedNet):
        check_is_fitted(model)
        return getattr(model, "dbn_", None)
    raise TypeError(
        f"model must be a fitted RBM, DBN or DBM (or a DBNClassifier / DBMClassifier / "
        f"DeepAutoencoder, whose pretrained model is used), got {type(model).__name__}."
    )


def rbm_stack(model):
    """The fitted RBMs of ``model``, bottom first (empty for a net trained without pretraining).

    A DBM's layers come as RBMs holding its weights and biases (layer l as visible, l + 1 as
    hidden): their ``inverse_transform`` is the DBM's top-down conditional of a layer given the
    one above, which is what filters and unit probes draw; going up they ignore the input from
    above, so use the DBM's own ``transform`` and ``reconstruct`` for inference.
    """
    part = generative_part(model)
    if part is None:
        return []
    if isinstance(part, DBM):
        return [_layer_rbm(part, i) for i in range(len(part.weights_))]
    return list(part.rbms_) if isinstance(part, DBN) else [part]


def _layer_rbm(dbm, layer):
    rbm = RBM(dbm.layer_sizes_[layer + 1], device=dbm.device)
    rbm.components_ = dbm.weights_[layer]
    rbm.intercept_visible_, rbm.intercept_hidden_ = dbm.biases_[layer], dbm.biases_[layer + 1]
    rbm.n_features_in_, rbm.random_state_ = dbm.layer_sizes_[layer], dbm.random_state_
    rbm.n_iter_, rbm.history_ = dbm.n_iter_, {}
    rbm._velocity = rbm._persistent = None
    return rbm
