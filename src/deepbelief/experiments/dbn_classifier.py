"""Seeds 001 and 003: DBN-initialised networks against kNN and logistic regression.

Seed 003 (nolearn) split all 70,000 MNIST digits 80 / 20: DBN([784, 300, 10]) got 97.95%; adding
10,000 randomly shifted (1 px) and rotated (+-10 degrees) digits alone lowered it to 97.69%;
500 hidden units and 50 epochs with those extra digits gave 98.37%, and dropout 0.25 98.54%.
Seed 001 pretrained RBMs, trained a softmax layer on top, then backpropagated through the whole
net (97% on Kaggle), next to logistic regression (89%) and 5-nearest neighbours (96%).
All of them run here on one split, with a classification report and confusion matrices.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from .._core.progress import progress
from ..datasets.augment import augment
from ..models.classifier import DBNClassifier
from ..viz.charts import plot_confusion_matrix, plot_training_curves
from ..viz.figures import plot_image_grid, plot_image_rows
from ._common import load_data, pooled_sample

TITLE = "DBN classifiers with augmentation and dropout, beside kNN and logistic regression " \
        "(seeds 001, 003)"


@dataclass
class Settings:
    n_images: int  # of the 70,000 MNIST digits, split 80 / 20 as in seed 003
    small: tuple = (300,)  # nolearn's DBN([784, 300, 10])
    large: tuple = (500,)
    deep: tuple = (500, 500)  # seed 001's stack (its sizes are not given)
    pretrain_n_iter: int = 10
    deep_pretrain_epochs: int = 30  # seed 001: 30 passes per RBM,
    deep_output_epochs: int = 10  # 10 for the softmax layer alone,
    deep_epochs: int = 10  # 10 of backprop through the whole net
    small_epochs: int = 10  # seed 003: 10 epochs, then 50 with 500 units
    large_epochs: int = 50
    extra_fraction: float = 10_000 / 56_000  # seed 003 added 10,000 distorted digits to 56,000


SETTINGS = {
    "smoke": Settings(n_images=1000, small=(32,), large=(48,), deep=(32, 32), pretrain_n_iter=1,
                      deep_pretrain_epochs=1, deep_output_epochs=1, deep_epochs=1,
                      small_epochs=2, large_epochs=2),
    "quick": Settings(n_images=12_500, pretrain_n_iter=3, deep_pretrain_epochs=5,
                      deep_output_epochs=3, deep_epochs=5, small_epochs=10, large_epochs=20),
    "full": Settings(n_images=70_000),
}

SEED = {  # seed 001 (Kaggle), seed 003 (nolearn, 80 / 20 split of 70,000)
    "logistic_regression": 0.89,
    "knn": 0.96,
    "dbn_dnn": 0.97,
    "dbn_300": 0.9795,
    "dbn_300_aug": 0.976857,
    "dbn_500_aug": 0.9837,
    "dbn_500_aug_dropout": 0.9854,
}
SEED_TEXT = {"dbn_300_aug": "97.69%"}


def row_names(s, n_features):
    """What each model is, in the words of its seed, with the sizes and epochs used here."""
    def net(hidden):
        return "-".join(map(str, (n_features, *hidden, 10)))

    return {
        "logistic_regression": "logistic regression, raw pixels (001)",
        "knn": "5-nearest neighbours, raw pixels (001)",
        "dbn_dnn": f"DBN {net(s.deep)}, softmax first, then backprop (001)",
        "dbn_300": f"DBN {net(s.small)}, {s.small_epochs} epochs (003)",
        "dbn_300_aug": f"DBN {net(s.small)}, {s.small_epochs} epochs, + distorted (003)",
        "dbn_500_aug": f"DBN {net(s.large)}, {s.large_epochs} epochs, + distorted (003)",
        "dbn_500_aug_dropout": f"DBN {net(s.large)}, {s.large_epochs} epochs, + distorted, "
                               "dropout 0.25 (003)",
    }


def _networks(s, ctx):
    """(key, uses the distorted digits, unfitted DBNClassifier) for every network of the seeds."""
    common = {"solver": "sgd", "pretrain_momentum": (0.5, 0.9), "batch_size": 100, "random_state": ctx.seed,
              "device": ctx.device, "verbose": ctx.verbose}
    nolearn = {"pretrain_n_iter": s.pretrain_n_iter, "learning_rate_decay": 0.9, **common}
    return [
        ("dbn_dnn", False, DBNClassifier(
            s.deep, pretrain_n_iter=s.deep_pretrain_epochs, output_n_iter=s.deep_output_epochs,
            n_iter=s.deep_epochs, learning_rate=0.1, **common)),
        ("dbn_300", False, DBNClassifier(s.small, learning_rate=0.3, n_iter=s.small_epochs,
                                         **nolearn)),
        ("dbn_300_aug", True, DBNClassifier(s.small, learning_rate=0.3, n_iter=s.small_epochs,
                                            **nolearn)),
        ("dbn_500_aug", True, DBNClassifier(s.large, learning_rate=0.2, n_iter=s.large_epochs,
                                            **nolearn)),
        ("dbn_500_aug_dropout", True, DBNClassifier(
            s.large, learning_rate=0.2, n_iter=s.large_epochs, dropout=0.25, **nolearn)),
    ]


def _knn_predict(knn, X, verbose, chunk=500):
    """kNN predictions in chunks, with a progress bar (brute force over 56,000 digits is slow)."""
    parts = []
    with progress(total=len(X), desc="kNN", unit="digit", verbose=verbose) as bar:
        for start in range(0, len(X), chunk):
            parts.append(knn.predict(X[start:start + chunk]))
            bar.update(len(parts[-1]))
    return np.concatenate(parts)


def run(ctx):
    s = SETTINGS[ctx.scale]
    data = load_data(ctx)
    shape = data.image_shape
    rng = np.random.RandomState(ctx.seed)
    X, y = pooled_sample(data, s.n_images, rng)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=ctx.seed)
    # Seed 003's extra digits: random training digits, each shifted and rotated a little.
    picked = rng.randint(0, len(X_tr), round(s.extra_fraction * len(X_tr)))
    X_new, y_new = augment(X_tr[picked], y_tr[picked], shape, n_copies=1, max_shift=1,
                           max_rotation=10, random_state=ctx.seed)
    X_aug = np.vstack([X_tr, X_new[len(picked):]])
    y_aug = np.concatenate([y_tr, y_new[len(picked):]])
    ctx.config.update(data=data.name, n_train=len(X_tr), n_test=len(X_te),
                      n_distorted=len(picked), settings=vars(s))

    names = row_names(s, X.shape[1])
    accuracy, seconds, predictions, fitted = {}, {}, {}, {}
    what = f"logistic regression on raw pixels ({len(X_tr):,} digits)"
    with ctx.step(what) as t, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
    predictions["logistic_regression"], seconds["logistic_regression"] = lr.predict(X_te), t
    with ctx.step("5-nearest neighbours on raw pixels") as t:
        knn = KNeighborsClassifier(5).fit(X_tr, y_tr)
        predictions["knn"] = _knn_predict(knn, X_te, ctx.verbose)
    seconds["knn"] = t
    for key, distorted, model in _networks(s, ctx):
        X_fit, y_fit = (X_aug, y_aug) if distorted else (X_tr, y_tr)
        with ctx.step(f"{names[key]} on {len(X_fit):,} digits") as t:
            fitted[key] = model.fit(X_fit, y_fit)
        predictions[key], seconds[key] = model.predict(X_te), t
    for key, pred in predictions.items():
        accuracy[key] = float(np.mean(pred == y_te))
    seconds = {k: t["seconds"] for k, t in seconds.items()}

    best = max(fitted, key=lambda k: accuracy[k])
    report = classification_report(y_te, predictions[best], digits=4, zero_division=0)
    ctx.say(f"Classification report of the best network, {names[best]}:")
    for line in report.rstrip().splitlines():
        ctx.say("  " + line)
    model = fitted[best]
    ctx.picture(f"Confusion matrix of the best network: {names[best]}",
                plot_confusion_matrix(y_te, predictions[best], ctx.out / "confusion_dbn.png",
                                      names[best]))
    ctx.picture("Confusion matrix of 5-nearest neighbours (seed 001 showed this one)",
                plot_confusion_matrix(y_te, predictions["knn"], ctx.out / "confusion_knn.png",
                                      "5-nearest neighbours"))
    ctx.picture(f"Fine-tuning of {names[best]}: loss, training error, learning rate",
                plot_training_curves(model.history_, ctx.out / "training_curves.png",
                                     names[best]))
    ctx.picture("First-layer filters of its pretrained DBN (first 100 hidden units)",
                plot_image_grid(model.dbn_.rbms_[0].components_[:100], shape,
                                ctx.out / "filters.png", "Pretrained first-layer filters"))
    n_show = min(10, len(picked))
    ctx.picture("Training digits and their distorted copies (1-px shift, +-10 degree rotation)",
                plot_image_rows({"original": X_tr[picked[:n_show]],
                                 "distorted": X_new[len(picked):][:n_show]},
                                shape, ctx.out / "distorted_digits.png", "Augmentation"))
    wrong = np.flatnonzero(predictions[best] != y_te)[:40]
    if len(wrong):
        pairs = ", ".join(f"{t}->{p}" for t, p in zip(y_te[wrong], predictions[best][wrong]))
        ctx.picture(f"Test digits the best network gets wrong, row by row (true->predicted: "
                    f"{pairs})", plot_image_grid(X_te[wrong], shape, ctx.out / "mistakes.png",
                                                 "Mistakes of the best network", n_cols=10,
                                                 normalize=None))

    for key, seed in SEED.items():
        ctx.compare(names[key], seed, accuracy[key], seed_text=SEED_TEXT.get(key))
    ctx.print_comparison(f"{TITLE}: {data.name}, {len(X_tr):,} training digits (+{len(picked):,} "
                         f"distorted) / {len(X_te):,} test digits")
    return {
        "data": data.name,
        "n_train": len(X_tr),
        "n_test": len(X_te),
        "n_distorted": len(picked),
        "accuracy": accuracy,
        "fit_seconds": seconds,
        "best": best,
        "classification_report": classification_report(
            y_te, predictions[best], output_dict=True, zero_division=0),
        "confusion_matrix": confusion_matrix(y_te, predictions[best]).tolist(),
        "epochs_run": {k: int(m.n_iter_) for k, m in fitted.items()},
    }
