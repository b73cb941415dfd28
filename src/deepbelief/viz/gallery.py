"""Every picture worth looking at for a fitted model, written into one folder.

Used by ``deepbelief plot``, the run folders of ``deepbelief train`` and the demo.
"""

import math
from pathlib import Path

import numpy as np

from ..models.dbm import DBM
from ..models.stack import generative_part, rbm_stack
from . import probes
from .charts import plot_codes_2d, plot_confusion_matrix, plot_training_curves
from .figures import plot_image_grid, plot_image_rows, plot_pair
from .tiles import save_png, tile_images


def guess_image_shape(n_features):
    """(side, side) for square images, else one row of pixels."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def basic_pictures(model, X, image_shape, out_dir, n_filters=100, n_examples=10):
    """``filters.png`` (first-layer weights as tiles) and ``reconstructions.png`` (test images
    over their reconstructions), drawn with Pillow alone. Returns {name: path}."""
    out_dir = Path(out_dir)
    stack = generative_part(model)
    if stack is None:
        return {}
    filters = tile_images(rbm_stack(stack)[0].components_[:n_filters], image_shape, pad=1)
    examples = X[:n_examples]
    pairs = tile_images(np.vstack([examples, stack.reconstruct(examples)]), image_shape,
                        n_cols=len(examples), normalize=None)
    scale = 3 if image_shape[0] >= 20 else 6
    return {
        "filters": str(save_png(filters, out_dir / "filters.png", scale=scale)),
        "reconstructions": str(save_png(pairs, out_dir / "reconstructions.png", scale=scale)),
    }


def model_pictures(model, out_dir, X=None, y=None, image_shape=None, n_examples=10):
    """Write PNGs for ``model`` (RBM, DBN, DBM, DBNClassifier, DBMClassifier or DeepAutoencoder)
    into ``out_dir``.

    ``X``/``y`` (test data, optional) add reconstructions, a confusion matrix or a code map.

    Returns
    -------
    pictures : list of (caption, Path)
    """
    out = Path(out_dir)
    n_features = model.n_features_in_
    shape = tuple(image_shape) if image_shape else guess_image_shape(n_features)
    pictures = []

    def add(caption, path):
        pictures.append((caption, Path(path)))

    history = model.history_
    if isinstance(history, list):  # DBN: one history per layer
        add("Reconstruction error per layer and epoch",
            plot_training_curves(history, out / "training_curves.png", "Greedy pretraining"))
    else:
        add("Training curves", plot_training_curves(history, out / "training_curves.png", "Training"))
    if getattr(model, "pretrain_history_", None):  # a DBM's greedy pretraining, before the above
        add("Reconstruction error of the DBM's pretraining RBMs per layer and epoch",
            plot_training_curves(model.pretrain_history_, out / "pretraining_curves.png",
                                 "Greedy pretraining (doubled RBMs)"))

    rbms = rbm_stack(model)
    if rbms:
        stack = generative_part(model)
        first = rbms[0]
        add("First-layer filters (weights of each hidden unit, as images)",
            plot_image_grid(first.components_[:100], shape, out / "filters.png",
                            "First-layer filters"))
        mean = X.mean(axis=0) if X is not None else None
        if mean is not None:
            add("Reconstruction from the biases alone next to the mean digit",
                plot_pair(probes.bias_only_reconstruction(stack, layer=0), mean, shape,
                          out / "bias_vs_mean.png"))
        for layer in range(min(len(rbms), 2)):
            add(f"What single hidden units of layer {layer + 1} draw",
                plot_image_grid(probes.unit_probes(stack, units=range(min(36, rbms[layer].n_components)),
                                                    layer=layer, subtract_bias=True),
                                shape, out / f"unit_probes_layer{layer + 1}.png",
                                f"Single units of layer {layer + 1}"))
        if X is not None and isinstance(stack, DBM):
            rows = {"original": X[:n_examples], "mean field": stack.reconstruct(X[:n_examples])}
            add("Test digits and E[v | q(h1)] from their mean-field posteriors",
                plot_image_rows(rows, shape, out / "reconstructions.png", "Reconstructions"))
        elif X is not None:
            rows = {"original": X[:n_examples]}
            for i, r in enumerate(probes.layer_reconstructions(stack, X[:n_examples])):
                rows[f"through {i + 1} layer{'s' if i else ''}"] = r
            add("Test digits and their reconstructions",
                plot_image_rows(rows, shape, out / "reconstructions.png", "Reconstructions"))

    if X is not None and y is not None and hasattr(model, "predict"):
        add("Confusion matrix on the test data",
            plot_confusion_matrix(y, model.predict(X), out / "confusion_matrix.png", "Test set"))
    if X is not None and hasattr(model, "reconstruction_error"):
        add("Test digits and their reconstructions by the fine-tuned autoencoder",
            plot_image_rows({"original": X[:n_examples], "reconstruction": model.reconstruct(X[:n_examples])},
                            shape, out / "autoencoder_reconstructions.png", "Deep autoencoder"))
        codes = model.transform(X)
        if codes.shape[1] == 2 and y is not None:
            add("2-D codes of the test data, coloured by digit",
                plot_codes_2d(codes, y, out / "codes_2d.png", "2-D codes",
                              highlight=np.arange(min(10, len(X)))))
    return pictures

