"""Where a model keeps its RBMs: one answer for every model kind."""

from sklearn.utils.validation import check_is_fitted

from ._finetuned import FineTunedNet
from .dbn import DBN
from .rbm import RBM


def generative_part(model):
    """The RBM or DBN of ``model`` that can sample and reconstruct, or None.

    An RBM or DBN is its own generative part; a fine-tuned network (``DBNClassifier``,
    ``DeepAutoencoder``) has the pretrained stack it started from, ``dbn_``, which is None when
    it was trained with ``pretrain=False``.

    Raises
    ------
    TypeError
        ``model`` is not a deepbelief model.
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    """
    if isinstance(model, (RBM, DBN)):
        check_is_fitted(model)
        return model
    if isinstance(model, FineTunedNet):
        check_is_fitted(model)
        return getattr(model, "dbn_", None)
    raise TypeError(
        f"model must be a fitted RBM or DBN (or a DBNClassifier / DeepAutoencoder, whose "
        f"pretrained stack is used), got {type(model).__name__}."
    )


def rbm_stack(model):
    """The fitted RBMs of ``model``, bottom first (empty for a net trained without pretraining)."""
    part = generative_part(model)
    if part is None:
        return []
    return list(part.rbms_) if isinstance(part, DBN) else [part]
