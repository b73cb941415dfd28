"""Seed 002: the 2-D codes of a 784-1000-500-250-2 deep autoencoder beside those of PCA.

The test digits are drawn at their 2-D codes, coloured by digit; ten of them (the seed's
choice) are ringed and shown with their reconstructions, for the autoencoder and for PCA with
two components. The mean reconstruction error per digit (squared error summed over pixels)
measures both. As in the seed's video, snapshots of the codes while the code layer's RBM is
pretrained, then while the unrolled net is fine-tuned, become an animation.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from ..models.autoencoder import DeepAutoencoder
from ..viz.animation import make_animation
from ..viz.charts import plot_codes_2d, plot_codes_side_by_side, plot_training_curves
from ._common import load_data, sample_rows

TITLE = "2-D codes of a deep autoencoder beside PCA's (seed 002)"
# The seed's highlighted test digits, 72, 3, 83, ... counted from 1 in R.
SEED_HIGHLIGHT = [71, 2, 82, 90, 6687, 7859, 91, 0, 179, 12]
SEED_PRETRAIN_UPDATES = 1_000_000  # per RBM, mini-batches of 100
SEED_FINETUNE_UPDATES = 10_000


@dataclass
class Settings:
    n_train: int | None  # training digits (None: all 60,000)
    n_test: int | None  # test digits (None: all 10,000, so the seed's ten digits can be ringed)
    layers: tuple = (1000, 500, 250, 2)
    pretrain_n_iter: int = 10  # per RBM below the code layer
    top_epochs: int = 40  # the code layer's RBM: small, cheap, slow to learn (rate 0.001)
    frame_every: int = 4  # top-RBM epochs between snapshots
    epochs: int = 50  # fine-tuning
    finetune_frame_every: int = 5  # fine-tuning epochs between snapshots


SETTINGS = {
    "smoke": Settings(n_train=600, n_test=300, layers=(64, 32, 16, 2), pretrain_n_iter=2,
                      top_epochs=2, frame_every=1, epochs=2, finetune_frame_every=1),
    "quick": Settings(n_train=10_000, n_test=None, pretrain_n_iter=5, top_epochs=20,
                      frame_every=2, epochs=10, finetune_frame_every=1),
    "full": Settings(n_train=None, n_test=None),
}


def highlight_rows(y):
    """The seed's ten test digits when the test set is MNIST's, else the first of each class."""
    if len(y) > max(SEED_HIGHLIGHT):
        return list(SEED_HIGHLIGHT)
    _, first = np.unique(y, return_index=True)
    return sorted(first.tolist())[:10]


def _error(X, X_rec):
    """Mean over digits of the squared error summed over pixels."""
    return float(np.mean(np.sum((X - X_rec) ** 2, axis=1, dtype=np.float64)))


def _knn_accuracy(codes_train, y_train, codes_test, y_test):
    """How well the digits separate in 2-D: 5-nearest-neighbour accuracy on the codes."""
    return float(KNeighborsClassifier(5).fit(codes_train, y_train).score(codes_test, y_test))


def _snapshotter(s, n_rbms, X_te, rows, frames):
    """A ``DeepAutoencoder.fit`` callback that records the test codes now and then in ``frames``.

    Each frame is (title, codes, reconstructions of the highlighted digits): while the code
    layer's RBM is pretrained (the stack so far encodes and decodes), then while the unrolled
    net is fine-tuned.
    """
    def snapshot(ae, stage, epoch):
        if stage == "network":
            every, total, what = s.finetune_frame_every, s.epochs, "Fine-tuning"
        elif stage == n_rbms - 1:
            every, total, what = s.frame_every, s.top_epochs, "Pretraining the code layer"
        else:
            return
        if (epoch + 1) % every and epoch + 1 != total:
            return
        model = ae if stage == "network" else ae.dbn_
        codes, rec = model.transform(X_te), model.reconstruct(X_te)
        frames.append((f"{what}: epoch {epoch + 1}/{total}, mean error {_error(X_te, rec):.1f}",
                       codes, rec[rows]))

    return snapshot


def run(ctx):
    s = SETTINGS[ctx.scale]
    data = load_data(ctx)
    shape = data.image_shape
    rng = np.random.RandomState(ctx.seed)
    X_tr, y_tr = data.X_train, data.y_train
    if s.n_train:
        X_tr, y_tr = sample_rows(X_tr, y_tr, s.n_train, rng)
    X_te, y_te = data.X_test, data.y_test
    if s.n_test and s.n_test < len(X_te):
        X_te, y_te = X_te[: s.n_test], y_te[: s.n_test]
    layers = [X_tr.shape[1], *s.layers]
    rows = highlight_rows(y_te)
    n_rbms = len(layers) - 1
    epochs_per_rbm = [s.pretrain_n_iter] * (n_rbms - 1) + [s.top_epochs]
    ae = DeepAutoencoder(layers, pretrain_n_iter=epochs_per_rbm, pretrain_momentum=(0.5, 0.9),
                         pretrain_weight_decay=2e-4, solver="adam", learning_rate=1e-3,
                         learning_rate_decay=0.97, n_iter=s.epochs, batch_size=100,
                         random_state=ctx.seed, device=ctx.device, verbose=ctx.verbose)
    ctx.config.update(data=data.name, n_train=len(X_tr), n_test=len(X_te),
                      autoencoder=ae.get_params(), highlighted_test_rows=rows)

    layer_text = "-".join(map(str, layers))
    frames = []
    with ctx.step(f"deep autoencoder {layer_text} on {len(X_tr):,} digits"):
        ae.fit(X_tr, callback=_snapshotter(s, n_rbms, X_te, rows, frames))
    codes, rec = ae.transform(X_te), ae.reconstruct(X_te)
    pretrained_rec = ae.dbn_.reconstruct(X_te)
    pca = PCA(2, random_state=ctx.seed).fit(X_tr)
    pca_codes = pca.transform(X_te)
    pca_rec = pca.inverse_transform(pca_codes)
    errors = {
        "autoencoder": ae.reconstruction_error(X_te),
        "pretrained_stack": _error(X_te, pretrained_rec),
        "pca": _error(X_te, pca_rec),
    }
    separation = {
        "autoencoder": _knn_accuracy(ae.transform(X_tr), y_tr, codes, y_te),
        "pca": _knn_accuracy(pca.transform(X_tr), y_tr, pca_codes, y_te),
    }

    ctx.picture("2-D codes of the test digits from the deep autoencoder; the ringed digits "
                "are drawn on the left with their reconstructions",
                plot_codes_2d(codes, y_te, ctx.out / "codes_autoencoder.png",
                              f"Deep autoencoder {layer_text}: "
                              f"mean error {errors['autoencoder']:.1f}",
                              highlight=rows, images=X_te[rows], reconstructions=rec[rows],
                              image_shape=shape))
    ctx.picture("The same digits projected on the first two principal components, with the "
                "PCA reconstructions",
                plot_codes_2d(pca_codes, y_te, ctx.out / "codes_pca.png",
                              f"PCA, 2 components: mean error {errors['pca']:.1f}",
                              highlight=rows, images=X_te[rows],
                              reconstructions=np.clip(pca_rec[rows], 0, 1), image_shape=shape))
    ctx.picture("Deep autoencoder and PCA side by side",
                plot_codes_side_by_side({"deep autoencoder": codes, "PCA": pca_codes}, y_te,
                                        ctx.out / "codes_side_by_side.png",
                                        "2-D codes of the test digits"))
    ctx.picture("Greedy pretraining: reconstruction error of each RBM",
                plot_training_curves(ae.dbn_.history_, ctx.out / "pretraining_curves.png",
                                     "Pretraining"))
    ctx.picture("Fine-tuning of the unrolled network",
                plot_training_curves(ae.history_, ctx.out / "finetuning_curves.png",
                                     "Fine-tuning"))

    with ctx.step(f"drawing {len(frames)} snapshots"), tempfile.TemporaryDirectory() as tmp:
        paths = [plot_codes_2d(codes, y_te, Path(tmp) / f"frame_{i:03d}.png", title,
                               highlight=rows, images=X_te[rows], reconstructions=rec_rows,
                               image_shape=shape)
                 for i, (title, codes, rec_rows) in enumerate(frames)]
        # The last frame is held; an MP4 (written when ffmpeg is installed) is not in the report.
        written = make_animation(paths + paths[-1:] * 3, ctx.out / "codes_during_training.gif",
                                 fps=2)
    ctx.picture("The codes while the code layer's RBM is pretrained, then while the network "
                "is fine-tuned", written[0])

    n_batches = -(-len(X_tr) // ae.batch_size)
    ctx.compare("pretraining updates, each lower RBM (batch 100)", SEED_PRETRAIN_UPDATES,
                s.pretrain_n_iter * n_batches, kind="count")
    ctx.compare("pretraining updates, code-layer RBM", SEED_PRETRAIN_UPDATES,
                s.top_epochs * n_batches, kind="count")
    ctx.compare("fine-tuning updates (batch 100)", SEED_FINETUNE_UPDATES,
                ae.n_iter_ * n_batches, kind="count")
    ctx.compare("mean error per test digit, deep autoencoder", None, errors["autoencoder"],
                kind="error")
    ctx.compare("mean error per test digit, pretrained stack", None, errors["pretrained_stack"],
                kind="error")
    ctx.compare("mean error per test digit, PCA 2 components", None, errors["pca"], kind="error")
    ctx.compare("5-NN accuracy on the 2-D codes, autoencoder", None, separation["autoencoder"])
    ctx.compare("5-NN accuracy on the 2-D codes, PCA", None, separation["pca"])
    ctx.print_comparison(f"{TITLE}: {data.name}, {len(X_tr):,} training / {len(X_te):,} test "
                         "digits (the seed gave pictures, not numbers, for the errors)")
    return {
        "data": data.name,
        "n_train": len(X_tr),
        "n_test": len(X_te),
        "layers": layers,
        "reconstruction_error": errors,
        "knn_accuracy_2d": separation,
        "highlighted_test_rows": rows,
        "highlighted_labels": y_te[rows].tolist(),
        "frames": [title for title, _, _ in frames],
        "animation": [p.name for p in written],
        "finetune_epochs_run": int(ae.n_iter_),
    }
