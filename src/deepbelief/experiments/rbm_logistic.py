"""Seed 000: RBM features + logistic regression against raw pixels, and one-pixel nudges.

A 5,000-image MNIST sample split 3,000 / 2,000, every pixel column min-max scaled. Logistic
regression on the raw pixels is the baseline; an RBM feeding logistic regression should beat it,
and lose that gain when every test digit is nudged one pixel up, down, left or right. The seed
proposed two fixes, both measured here: add the nudged copies at training time, and train on
random crops (24x24 of 28x28) while testing on centre crops.
"""

import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from .._core.progress import progress
from ..datasets.augment import center_crop, nudge, random_crops
from ..models.rbm import RBM
from ..runs.cluster import search_backend
from ..viz.figures import plot_image_grid, plot_image_rows
from ._common import load_data, pooled_sample

TITLE = "RBM + logistic regression on MNIST, and one-pixel nudges (seed 000)"
SEED = {"raw": 0.89, "rbm": 0.93, "rbm_nudged": 0.88}


@dataclass
class Settings:
    n_images: int  # the sample, split 60 / 40 like the seed's 3,000 / 2,000
    n_components: int = 200
    learning_rate: float = 0.05
    n_iter: int = 20
    batch_size: int = 20
    C: float = 1.0  # logistic regression on the RBM features
    C_raw: float = 1.0  # logistic regression on raw pixels
    n_crops: int = 5  # random crops per training image
    cv: int = 3
    grid: dict = field(default_factory=dict)  # the grid search over the pipeline
    grid_raw: dict = field(default_factory=dict)


SETTINGS = {
    "smoke": Settings(
        n_images=600, n_components=32, n_iter=3, n_crops=2, cv=2,
        grid={"logistic__C": [1.0, 100.0], "rbm__n_components": [16, 32]},
        grid_raw={"logistic__C": [0.1, 1.0]},
    ),
    "quick": Settings(
        n_images=5000,
        grid={"logistic__C": [10.0, 100.0], "rbm__learning_rate": [0.05, 0.01],
              "rbm__n_iter": [10], "rbm__n_components": [100, 200]},
        grid_raw={"logistic__C": [0.1, 1.0, 10.0]},
    ),
    "full": Settings(  # the seed's grid: 81 settings x 3 folds, a long walk
        n_images=5000, n_iter=40,
        grid={"logistic__C": [1.0, 10.0, 100.0], "rbm__learning_rate": [0.1, 0.01, 0.001],
              "rbm__n_iter": [20, 40, 80], "rbm__n_components": [50, 100, 200]},
        grid_raw={"logistic__C": [0.1, 1.0, 10.0, 100.0]},
    ),
}


def crop_shape_for(image_shape):
    """The seed's 24x24 crop of 28x28 digits, scaled to other sizes (6x6 of 8x8); None if tiny."""
    crop = tuple(side * 6 // 7 for side in image_shape)
    return crop if min(crop) >= 4 and crop != tuple(image_shape) else None


def _pipelines(s, ctx):
    """(raw-pixel logistic regression, scaler + RBM + logistic regression), unfitted."""
    raw = Pipeline([("scale", MinMaxScaler(clip=True)),
                    ("logistic", LogisticRegression(C=s.C_raw, max_iter=1000))])
    rbm = RBM(s.n_components, learning_rate=s.learning_rate, n_iter=s.n_iter,
              batch_size=s.batch_size, momentum=(0.5, 0.9), random_state=ctx.seed,
              device=ctx.device, verbose=ctx.verbose)
    pipe = Pipeline([("scale", MinMaxScaler(clip=True)), ("rbm", rbm),
                     ("logistic", LogisticRegression(C=s.C, max_iter=1000))])
    return raw, pipe


def _tick_and_score(tick, estimator, X, y):
    tick()
    return estimator.score(X, y)


def _ticking_accuracy(tick):
    """Accuracy as a scorer that also calls ``tick()``: one tick per cross-validation fit, in
    this process or on a Dask worker (sklearn's own lines need verbose >= 2)."""
    return partial(_tick_and_score, tick)


def _search(ctx, s, raw, pipe, X, y):
    """The seed's cross-validated grid searches; returns the refitted best pipelines."""
    found = {}
    quiet_pipe = clone(pipe).set_params(rbm__verbose=0)
    with search_backend(ctx.scheduler) as backend:
        if ctx.verbose and backend.client is not None:
            ctx.say(f"[{ctx.name}] the searches run on {backend.description}")
        for key, model, grid in (("raw", raw, s.grid_raw), ("rbm", quiet_pipe, s.grid)):
            n = int(np.prod([len(v) for v in grid.values()]))
            with ctx.step(f"grid search ({key}): {n} settings x {s.cv} folds"), \
                    progress(n * s.cv, f"grid search ({key})", "fit", ctx.verbose) as bar:
                search = GridSearchCV(model, grid, cv=s.cv, n_jobs=backend.n_jobs,
                                      scoring=_ticking_accuracy(backend.ticker(bar)),
                                      verbose=max(0, ctx.verbose - 1))
                search.fit(X, y)
            found[key] = search
            ctx.say(f"[{ctx.name}] best {key}: {search.best_params_} "
                    f"(cross-validated accuracy {search.best_score_:.4f})")
    params = {k: found[k].best_params_ for k in found}
    best_pipe = found["rbm"].best_estimator_.set_params(rbm__verbose=ctx.verbose)
    return found["raw"].best_estimator_, best_pipe, params


def run(ctx):
    s = SETTINGS[ctx.scale]
    data = load_data(ctx)
    shape = data.image_shape
    rng = np.random.RandomState(ctx.seed)
    X, y = pooled_sample(data, s.n_images, rng)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=ctx.seed)
    X_nudged, y_nudged = nudge(X_te, y_te, shape)
    ctx.config.update(data=data.name, n_train=len(X_tr), n_test=len(X_te),
                      n_nudged_test=len(X_nudged), settings=vars(s))
    metrics = {"data": data.name, "n_train": len(X_tr), "n_test": len(X_te)}

    raw, pipe = _pipelines(s, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if ctx.search:
            raw, pipe, metrics["best_params"] = _search(ctx, s, raw, pipe, X_tr, y_tr)
        else:
            with ctx.step(f"logistic regression on raw pixels ({len(X_tr):,} images)"):
                raw.fit(X_tr, y_tr)
            with ctx.step(f"RBM({pipe['rbm'].n_components}) + logistic regression"):
                pipe.fit(X_tr, y_tr)
        acc = {
            "raw_logistic_accuracy": raw.score(X_te, y_te),
            "raw_logistic_nudged_accuracy": raw.score(X_nudged, y_nudged),
            "rbm_logistic_accuracy": pipe.score(X_te, y_te),
            "rbm_logistic_nudged_accuracy": pipe.score(X_nudged, y_nudged),
        }
        metrics["classification_report"] = classification_report(
            y_te, pipe.predict(X_te), output_dict=True, zero_division=0)

        # Fix 1: the nudged copies of the training digits join the training set.
        X_aug, y_aug = nudge(X_tr, y_tr, shape)
        fix1 = clone(pipe)
        with ctx.step(f"fix 1: train on the digits and their nudges ({len(X_tr) * 5:,} images)"):
            fix1.fit(np.vstack([X_tr, X_aug]), np.concatenate([y_tr, y_aug]))
        acc["nudge_trained_accuracy"] = fix1.score(X_te, y_te)
        acc["nudge_trained_nudged_accuracy"] = fix1.score(X_nudged, y_nudged)

        # Fix 2: random crops for training, the centre crop for testing.
        crop = crop_shape_for(shape)
        metrics["crop_shape"] = crop
        acc["crops_accuracy"] = acc["crops_nudged_accuracy"] = None
        if crop is None:
            ctx.say(f"[{ctx.name}] {shape[0]}x{shape[1]} images are too small to crop: fix 2 "
                    "skipped.")
        else:
            X_crops, y_crops = random_crops(X_tr, y_tr, shape, crop, s.n_crops, ctx.seed)
            fix2 = clone(pipe)
            with ctx.step(f"fix 2: train on {s.n_crops} random {crop[0]}x{crop[1]} crops "
                          "per digit"):
                fix2.fit(X_crops, y_crops)
            acc["crops_accuracy"] = fix2.score(center_crop(X_te, shape, crop), y_te)
            acc["crops_nudged_accuracy"] = fix2.score(center_crop(X_nudged, shape, crop), y_nudged)
    metrics.update({k: None if v is None else float(v) for k, v in acc.items()})

    rbm = pipe["rbm"]
    ctx.picture("Filters of the RBM feeding logistic regression (first 100 hidden units)",
                plot_image_grid(rbm.components_[:100], shape, ctx.out / "rbm_filters.png",
                                "RBM filters"))
    n_show = min(10, len(X_te))
    ctx.picture("Test digits and their four one-pixel nudges (the nudged test set)",
                plot_image_rows({"original": X_te[:n_show],
                                 **{name: X_nudged[i * len(X_te):][:n_show]
                                    for i, name in enumerate(("up", "down", "left", "right"))}},
                                shape, ctx.out / "nudged_digits.png", "One-pixel nudges"))
    if crop is not None:
        ctx.picture(f"Random {crop[0]}x{crop[1]} training crops, and the centre crop used for "
                    "testing", plot_image_rows(
                        {f"random crop {i + 1}": X_crops[i * len(X_tr):][:n_show]
                         for i in range(min(s.n_crops, 3))}
                        | {"centre crop": center_crop(X_tr[:n_show], shape, crop)},
                        crop, ctx.out / "crops.png", "Crops"))

    ctx.compare("logistic regression, raw pixels", SEED["raw"], acc["raw_logistic_accuracy"])
    ctx.compare("RBM + logistic regression", SEED["rbm"], acc["rbm_logistic_accuracy"])
    ctx.compare("RBM + logistic regression, nudged test set", SEED["rbm_nudged"],
                acc["rbm_logistic_nudged_accuracy"])
    ctx.compare("logistic regression, raw pixels, nudged test set", None,
                acc["raw_logistic_nudged_accuracy"])
    ctx.compare("fix 1 (nudges in training), test set", None, acc["nudge_trained_accuracy"])
    ctx.compare("fix 1 (nudges in training), nudged test set", None,
                acc["nudge_trained_nudged_accuracy"])
    ctx.compare("fix 2 (random crops), centre-cropped test set", None, acc["crops_accuracy"])
    ctx.compare("fix 2 (random crops), centre-cropped nudged test set", None,
                acc["crops_nudged_accuracy"])
    ctx.print_comparison(f"{TITLE}: {data.name}, {len(X_tr):,} training / {len(X_te):,} test "
                         f"images ({len(X_nudged):,} nudged)")
    return metrics
