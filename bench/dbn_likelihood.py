"""DBN 784-500-2000 on binarized MNIST: the variational bound on the test log-probability.

Target: within 1 nat of Salakhutdinov & Murray's (2008) DBN, a bound of -86.22 nats per test
image (so -87.22 or better), with their bottom RBM at -86.34 on its own.

Data and evaluation as in ``bench/rbm_likelihood.py``: MNIST's 60,000 / 10,000 split binarized
stochastically once (``RandomState(0)``, training set then test set); AIS with the standard
14,501 betas and 100 runs. Printed in the same run: the bottom RBM's own test log-probability
(AIS for its log Z) and the DBN's bound (posterior samples h1 ~ q(h1 | v), 10 per image, AIS
for the top RBM's log Z), each with the band that log Z's 3 sigma gives, and their difference,
the gain of the top RBM: bound - log p_RBM(v) = E_q[log p_top(h1) - log p_RBM(h1)], where
p_RBM(h1) is the bottom RBM's own marginal over its hidden units.

Everything goes through the public API: the bottom RBM is ``DBN([784, 500])``'s (or a saved
RBM, ``--bottom``); the top RBM is added by ``set_params(layers=[784, 500, 2000],
warm_start=True)`` and ``fit``, so one bottom RBM serves every top-RBM experiment.

    python bench/dbn_likelihood.py --bottom rbm.safetensors [--top-epochs 100] [--propagate sample]
        [--top-method pcd] [--top-k 1] [--top-learning-rate 0.05] [--top-train-size N]
        [--upper-init random|transpose] [--n-betas N] [--ais-check] [--save-dbn FILE]
        [--load-dbn FILE] [--out result.json]

Measured results: ``docs/benchmarks.md``, "A DBN's variational bound" (with the investigation).
"""

import argparse
import subprocess
import time

import numpy as np

from _common import add_common_args, set_threads, write_result
from deepbelief import DBN, RBM, load
from deepbelief.datasets import load_mnist
from deepbelief.models.likelihood import (
    dbn_log_likelihood_bound,
    rbm_log_likelihood,
    rbm_log_partition,
)

PAPER = {"rbm_cd25_500": -86.34, "dbn_784_500_2000_bound": -86.22}
RECIPE = {"method": "pcd", "k": 1, "momentum": 0.0, "weight_decay": 2e-4, "batch_size": 100,
          "learning_rate_decay": "linear"}  # bench/rbm_likelihood.py's, for both RBMs


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bottom", default=None,
                   help="a saved RBM (or DBN: its first RBM) to use as the 784-500 layer")
    p.add_argument("--bottom-epochs", type=int, default=300, help="when training the bottom RBM")
    p.add_argument("--bottom-components", type=int, default=500, help="when training it")
    p.add_argument("--save-bottom", default=None)
    p.add_argument("--top-components", type=int, default=2000)
    p.add_argument("--top-epochs", type=int, default=100)
    p.add_argument("--top-method", default="pcd", choices=["cd", "pcd"])
    p.add_argument("--top-k", type=int, default=1)
    p.add_argument("--top-learning-rate", type=float, default=0.05,
                   help="decayed linearly to 0 over --top-epochs")
    p.add_argument("--top-decay", type=float, default=2e-4)
    p.add_argument("--top-train-size", type=int, default=None,
                   help="train the top RBM on the first N training images (a proxy)")
    p.add_argument("--propagate", default="sample", choices=["mean", "sample"],
                   help="the top RBM learns from E[h1 | v] or from states h1 ~ q(h1 | v)")
    p.add_argument("--upper-init", default="random", choices=["random", "transpose"],
                   help="the top RBM starts from small random weights, or as the bottom RBM "
                        "turned over (DBN(upper_init=...))")
    p.add_argument("--n-betas", type=int, default=None, help="AIS betas (default: the standard 14,501)")
    p.add_argument("--n-runs", type=int, default=100)
    p.add_argument("--posterior-samples", type=int, default=10)
    p.add_argument("--save-dbn", default=None)
    p.add_argument("--load-dbn", default=None, help="evaluate this saved DBN (no training)")
    p.add_argument("--ais-check", action="store_true",
                   help="also run AIS on a 500-2000 RBM of known log Z: the bottom RBM turned "
                        "over (W^T, biases swapped) plus 1,216 units without weights")
    add_common_args(p, pretrain=False)
    args = p.parse_args(argv)
    if args.quick:
        args.train_size = args.train_size or 2000
        args.bottom_epochs, args.top_epochs, args.top_components = 2, 2, 100
        args.bottom_components = 50
        args.n_betas, args.n_runs = args.n_betas or 200, 20
    return args


def binarized_mnist(args):
    mnist = load_mnist(args.data_home, verbose=args.verbose)
    rng = np.random.RandomState(0)  # bench/rbm_likelihood.py's binarization, bit for bit
    X = (rng.random_sample(mnist.X_train.shape) < mnist.X_train).astype(np.float32)
    X_test = (rng.random_sample(mnist.X_test.shape) < mnist.X_test).astype(np.float32)
    return X[: args.train_size], X_test


def bottom_dbn(X, args):
    """A fitted DBN([784, 500]) holding the bottom RBM: loaded, or trained with the recipe."""
    if args.bottom:
        model = load(args.bottom)
        rbm = model.rbms_[0] if isinstance(model, DBN) else model
        # A DBN of one RBM around the saved RBM (what DBN([784, 500]).fit would hold).
        dbn = DBN([X.shape[1], rbm.n_components], **RECIPE, learning_rate=rbm.learning_rate,
                  n_iter=rbm.n_iter_, random_state=args.seed, device=args.device,
                  precision=args.precision, verbose=args.verbose)
        dbn.rbms_, dbn.history_ = [rbm], [rbm.history_]
        dbn.layer_sizes_, dbn.n_features_in_ = [X.shape[1], rbm.n_components], X.shape[1]
        return dbn, None
    dbn = DBN([X.shape[1], args.bottom_components], **RECIPE, learning_rate=0.05, n_iter=args.bottom_epochs,
              random_state=args.seed, device=args.device, precision=args.precision,
              verbose=args.verbose)
    start = time.perf_counter()
    dbn.fit(X)
    seconds = time.perf_counter() - start
    if args.save_bottom:
        dbn.rbms_[0].save(args.save_bottom)
    return dbn, seconds


def add_top(dbn, X, args):
    """Train the 500-2000 RBM on top of the fitted bottom (warm start keeps the bottom)."""
    bottom = dbn.rbms_[0]
    dbn.set_params(
        layers=[X.shape[1], bottom.n_components, args.top_components], warm_start=True,
        method=["pcd", args.top_method], k=[1, args.top_k],
        learning_rate=[bottom.learning_rate, args.top_learning_rate],
        n_iter=[bottom.n_iter_, args.top_epochs], weight_decay=[2e-4, args.top_decay],
        propagate=args.propagate, upper_init=args.upper_init,
    )
    start = time.perf_counter()
    dbn.fit(X[: args.top_train_size])
    return time.perf_counter() - start


def ais(rbm, base, args, seed):
    start = time.perf_counter()
    log_z = rbm_log_partition(rbm, base, n_betas=args.n_betas, n_runs=args.n_runs,
                              random_state=seed, verbose=min(args.verbose, 1))
    return log_z, time.perf_counter() - start


def band(value, log_z):
    """log p = ... - log Z: log Z's 3-sigma band moves the figure the other way."""
    return [value + log_z.log_z - log_z.log_z_high, value + log_z.log_z - log_z.log_z_low]


def main(argv=None):
    args = parse_args(argv)
    set_threads(args)
    X, X_test = binarized_mnist(args)
    bottom_seconds = top_seconds = None
    if args.load_dbn:
        dbn = load(args.load_dbn)
        print(f"DBN {dbn.layer_sizes_} loaded from {args.load_dbn}", flush=True)
    else:
        dbn, bottom_seconds = bottom_dbn(X, args)
        print(f"bottom RBM 784-{dbn.rbms_[0].n_components}: "
              + (f"trained in {bottom_seconds / 60:.1f} min" if bottom_seconds else
                 f"loaded from {args.bottom} ({dbn.rbms_[0].n_iter_} epochs)"), flush=True)
        top_seconds = add_top(dbn, X, args)
        print(f"top RBM {dbn.layer_sizes_[1]}-{dbn.layer_sizes_[2]} ({args.upper_init} start): "
              f"{args.top_epochs} epochs of "
              f"{args.top_method.upper()}-{args.top_k} on {args.propagate}s of h1, learning rate "
              f"{args.top_learning_rate} -> 0, in {top_seconds / 60:.1f} min", flush=True)
        if args.save_dbn:
            dbn.save(args.save_dbn)
    bottom, top = dbn.rbms_[0], dbn.rbms_[-1]

    log_z, bottom_ais = ais(bottom, X, args, args.seed)
    rbm_test = rbm_log_likelihood(bottom, X_test, log_z)
    print(f"bottom RBM: AIS {bottom_ais:.0f} s, {log_z}\n  test log-probability {rbm_test:.2f} "
          f"(3 sigma {band(rbm_test, log_z)[0]:.2f} .. {band(rbm_test, log_z)[1]:.2f})", flush=True)

    if args.ais_check:
        result_check = ais_check(bottom, log_z, X, args)
    log_z_top, top_ais = ais(top, bottom.transform(X), args, args.seed + 1)
    start = time.perf_counter()
    bound = dbn_log_likelihood_bound(dbn, X_test, log_z_top, n_samples=args.posterior_samples,
                                     random_state=args.seed)
    bound_train = dbn_log_likelihood_bound(dbn, X[:10_000], log_z_top,
                                           n_samples=args.posterior_samples, random_state=args.seed)
    bound_seconds = time.perf_counter() - start
    lo, hi = band(bound, log_z_top)
    print(f"top RBM: AIS {top_ais:.0f} s, {log_z_top}\n  DBN bound on the test log-probability "
          f"{bound:.2f} (3 sigma {lo:.2f} .. {hi:.2f}); training images {bound_train:.2f}\n"
          f"  gain of the top RBM over the bottom RBM alone: {bound - rbm_test:+.2f} nats; "
          f"paper: bound {PAPER['dbn_784_500_2000_bound']}, RBM {PAPER['rbm_cd25_500']}")
    result = {
        "benchmark": "dbn_likelihood",
        "commit": _commit(),
        "quick": args.quick,
        "train_size": len(X),
        "bottom": args.bottom, "load_dbn": args.load_dbn,
        "top": {"components": top.n_components, "epochs": top.n_iter_, "method": top.method,
                "k": top.k, "learning_rate": top.learning_rate, "weight_decay": top.weight_decay,
                "propagate": dbn.propagate, "upper_init": dbn.upper_init, "train_size": args.top_train_size or len(X)},
        "bottom_train_s": bottom_seconds, "top_train_s": top_seconds,
        "threads": args.threads, "precision": args.precision,
        "rbm_log_z": log_z.log_z, "rbm_log_z_std": log_z.std, "rbm_ais_s": bottom_ais,
        "rbm_test": rbm_test, "rbm_test_3sigma": band(rbm_test, log_z),
        "top_log_z": log_z_top.log_z, "top_log_z_std": log_z_top.std, "top_ais_s": top_ais,
        "n_betas": log_z_top.n_betas, "n_runs": log_z_top.n_runs,
        "dbn_test_bound": bound, "dbn_test_bound_3sigma": [lo, hi], "dbn_train_bound": bound_train,
        "gain": bound - rbm_test, "bound_s": bound_seconds, "paper": PAPER,
    }
    if args.ais_check:
        result["ais_check"] = result_check
    return write_result(args, result)


def turned_over(bottom, n_top):
    """The bottom RBM with visible and hidden swapped, padded with units without weights:
    its marginal over the 500 units is the bottom RBM's own p(h1), its log Z that of the bottom
    RBM plus (n_top - 784) log 2."""
    n_vis = bottom.components_.shape[1]
    rbm = RBM(n_top, device=bottom.device)
    rbm.components_ = np.zeros((n_top, bottom.n_components), dtype=np.float32)
    rbm.components_[:n_vis] = bottom.components_.T
    rbm.intercept_visible_ = bottom.intercept_hidden_.copy()
    rbm.intercept_hidden_ = np.zeros(n_top, dtype=np.float32)
    rbm.intercept_hidden_[:n_vis] = bottom.intercept_visible_
    return rbm, (n_top - n_vis) * np.log(2.0)


def ais_check(bottom, log_z, X, args):
    """AIS on a 500-2000 RBM whose log Z is the bottom RBM's (estimated by AIS too) + a constant."""
    n_top = max(args.top_components, bottom.components_.shape[1])  # --quick's top is narrower
    rbm, extra = turned_over(bottom, n_top)
    estimate, seconds = ais(rbm, bottom.transform(X), args, args.seed + 2)
    expected = log_z.log_z + extra
    print(f"AIS check: turned-over bottom RBM {bottom.n_components}-{n_top}: {estimate}, {seconds:.0f} s; "
          f"expected {expected:.4f} (the bottom RBM's log Z + {extra:.2f}): off by "
          f"{estimate.log_z - expected:+.2f}", flush=True)
    return {"log_z": estimate.log_z, "std": estimate.std, "expected": expected, "seconds": seconds}


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
