"""Seeds 001 and 004: what a 784-50 and a 784-500 RBM learn, looked at from every side.

Seed 004 trained a 784-50 RBM for 5 epochs (batches of 100), plotted its reconstruction error
per batch, tiled its filters and repaired a damaged digit by passing it through the RBM. Seed
001 drew what the biases alone reconstruct next to the mean digit, and what single hidden units
draw. Both RBMs get all of it here, plus samples from Gibbs chains.
"""

from dataclasses import dataclass

import numpy as np

from ..models.rbm import RBM
from ..viz.charts import plot_training_curves
from ..viz.figures import plot_image_grid, plot_image_rows, plot_pair
from ..viz.probes import bias_only_reconstruction, damage, repair, unit_probes
from ._common import load_data, sample_rows

TITLE = "Inside a 784-50 and a 784-500 RBM (seeds 001, 004)"
# Seed 004's 784-50 RBM: mean (v - v1)^2 over the training digits after epochs 1 to 5, where
# v1 is a binary sample of the reconstruction from a binary sample of the hidden units.
SEED_ERRORS = [0.098552, 0.094880, 0.093765, 0.093356, 0.093662]
CHAIN_STEPS = (1, 10, 100, 1000)


@dataclass
class Settings:
    n_train: int | None  # training digits (None: all 60,000)
    small_epochs: int = 5  # seed 004
    large_epochs: int = 30  # seed 001: 30 passes
    n_steps: int = 1000  # Gibbs steps for the samples
    n_eval: int = 10_000  # training digits the seed-style error is measured on
    n_repair: int = 1000  # test digits the repair is measured on


SETTINGS = {
    "smoke": Settings(n_train=500, small_epochs=2, large_epochs=2, n_steps=20, n_repair=100),
    "quick": Settings(n_train=10_000, large_epochs=20),
    "full": Settings(n_train=None),
}


def seed_error(rbm, X, rng):
    """Seed 004's error: mean squared difference between v and a sampled one-step reconstruction."""
    h = (rng.random_sample((len(X), rbm.n_components)) < rbm.transform(X)).astype(np.float32)
    v1 = rng.random_sample(X.shape) < rbm.inverse_transform(h)
    return float(np.mean((X - v1) ** 2))


def _fit(ctx, n_components, epochs, X, X_eval):
    """An RBM trained on X, with the seed-style error on X_eval after every epoch."""
    rng = np.random.RandomState(ctx.seed)
    errors = []
    rbm = RBM(n_components, learning_rate=0.1, batch_size=100, n_iter=epochs, momentum=0.5,
              random_state=ctx.seed, device=ctx.device, verbose=ctx.verbose)
    with ctx.step(f"RBM {X.shape[1]}-{n_components}, {epochs} epochs on {len(X):,} digits"):
        rbm.fit(X, callback=lambda model, epoch: errors.append(seed_error(model, X_eval, rng)))
    return rbm, errors


def _chain_rows(rbm, X_start, n_steps):
    """Gibbs chains started at test digits (binary samples at a few steps), and from noise."""
    rows, v, done = {"start: test digits": X_start}, X_start, 0
    for step in [s for s in CHAIN_STEPS if s < n_steps] + [n_steps]:
        v, done = rbm.gibbs(v, n_steps=step - done), step
        rows[f"step {step:,}"] = v
    rows[f"from noise, step {n_steps:,}"] = rbm.sample(len(X_start), n_steps, init="noise")
    return rows


def run(ctx):
    s = SETTINGS[ctx.scale]
    data = load_data(ctx)
    shape = data.image_shape
    rng = np.random.RandomState(ctx.seed)
    X, X_te = data.X_train, data.X_test
    if s.n_train:
        X, _ = sample_rows(X, data.y_train, s.n_train, rng)
    X_eval = X[: s.n_eval]
    ctx.config.update(data=data.name, n_train=len(X), settings=vars(s))

    small, small_errors = _fit(ctx, 50, s.small_epochs, X, X_eval)
    large, large_errors = _fit(ctx, 500, s.large_epochs, X, X_eval)
    rbms = {"784-50": small, "784-500": large}
    if data.name != "mnist":
        rbms = {f"{X.shape[1]}-{r.n_components}": r for r in rbms.values()}
    names = list(rbms)
    mean_digit = X.mean(axis=0)

    bias_gap = {}
    for (name, rbm), tag in zip(rbms.items(), ("50", "500")):
        ctx.picture(f"{name} RBM: reconstruction error of every mini-batch, and each epoch's mean",
                    plot_training_curves(rbm.history_, ctx.out / f"errors_{tag}.png",
                                         f"{name} RBM"))
        n_filters = min(100, rbm.n_components)
        ctx.picture(f"{name} RBM: the weights of {n_filters} hidden units as images (filters)",
                    plot_image_grid(rbm.components_[:n_filters], shape,
                                    ctx.out / f"filters_{tag}.png", f"{name} filters", n_cols=10))
        bias = bias_only_reconstruction(rbm)
        bias_gap[name] = float(np.mean((bias - mean_digit) ** 2))
        ctx.picture(f"{name} RBM: what the biases alone reconstruct (every hidden unit off), "
                    "next to the mean training digit",
                    plot_pair(bias, mean_digit, shape, ctx.out / f"bias_vs_mean_{tag}.png",
                              title=f"{name} RBM"))
        n_probes = min(72, rbm.n_components)
        ctx.picture(f"{name} RBM: what single hidden units draw (one unit on, minus the "
                    "bias-only picture)",
                    plot_image_grid(unit_probes(rbm, units=range(n_probes), subtract_bias=True),
                                    shape, ctx.out / f"unit_probes_{tag}.png",
                                    f"{name}: single units", n_cols=12 if n_probes > 50 else 10))
        with ctx.step(f"{name}: 10 Gibbs chains of {s.n_steps:,} steps"):
            rows = _chain_rows(rbm, X_te[10:20], s.n_steps)
        ctx.picture(f"{name} RBM: samples from Gibbs chains started at test digits (binary "
                    "states), and the visible means after a chain started from random pixels",
                    plot_image_rows(rows, shape, ctx.out / f"samples_{tag}.png",
                                    f"{name}: Gibbs chains"))

    shown = X_te[:10]
    ctx.picture("Test digits and their reconstructions (v -> h -> v) by each RBM",
                plot_image_rows({"original": shown, **{n: r.reconstruct(shown)
                                                       for n, r in rbms.items()}},
                                shape, ctx.out / "reconstructions.png", "Reconstructions"))

    # Repair: a quarter of each digit blanked out, then passed through the RBMs.
    originals = X_te[: s.n_repair]
    damaged, mask = damage(originals, shape, "occlude", 0.25, random_state=ctx.seed,
                           return_mask=True)
    damaged = damaged.astype(np.float32)
    repaired = {f"{n}, 1 pass": repair(r, damaged) for n, r in rbms.items()}
    for n, r in rbms.items():
        repaired[f"{n}, 10 passes, intact pixels kept"] = repair(r, damaged, n_steps=10,
                                                                 keep=~mask)

    def blanked_error(images):  # squared error per damaged pixel
        return float(np.mean((images - originals)[mask] ** 2))

    repair_error = {"damaged": blanked_error(damaged),
                    **{k: blanked_error(v) for k, v in repaired.items()}}
    ctx.picture("Repair: digits with a blanked square, and what the RBMs make of them",
                plot_image_rows({"original": originals[:10], "damaged": damaged[:10],
                                 **{k: v[:10] for k, v in repaired.items()}},
                                shape, ctx.out / "repair.png", "Repairing damaged digits"))

    n = len(small_errors)
    ctx.compare(f"{names[0]}: error after epoch 1 (seed 004's measure)", SEED_ERRORS[0],
                small_errors[0], kind="error")
    if n > 1:
        seed_last = SEED_ERRORS[n - 1] if n <= len(SEED_ERRORS) else None
        ctx.compare(f"{names[0]}: error after epoch {n}", seed_last, small_errors[-1],
                    kind="error")
    ctx.compare(f"{names[1]}: error after epoch {len(large_errors)}", None, large_errors[-1],
                kind="error")
    for name in names:
        ctx.compare(f"{name}: biases-only picture vs mean digit (MSE)", None, bias_gap[name],
                    kind="error")
    for key, value in repair_error.items():
        ctx.compare(f"repair: error per blanked pixel, {key}", None, value, kind="error")
    ctx.print_comparison(f"{TITLE}: {data.name}, {len(X):,} training digits")
    return {
        "data": data.name,
        "n_train": len(X),
        "seed_style_error": {names[0]: small_errors, names[1]: large_errors},
        "reconstruction_error": {n: r.history_["reconstruction_error"] for n, r in rbms.items()},
        "bias_vs_mean_mse": bias_gap,
        "repair_error": repair_error,
    }
