"""One CD-1 epoch over MNIST's 60,000 images: deepbelief float32, bfloat16, int8 vs scikit-learn.

Times, in the same run, deepbelief's RBM with its products in float32, bfloat16 and int8,
scikit-learn's BernoulliRBM, and large float32, bfloat16 and int8 matrix products for the
machine's practical peaks (for int8 in giga-operations per second), so the numbers are ratios
that survive a noisy shared machine. It also times an epoch's four matrix products alone at
each precision: scikit-learn's time over that is the ceiling of the speedup of any CD-1 built
on those products, in this run. Then a quality check: each of the four trains for 10 epochs on
10,000 images, and a logistic regression on its features is scored on the 10,000 test images
(with the test reconstruction error).

    python bench/rbm_throughput.py [--data-home DIR] [--repeats 3] [--threads 1]
        [--batch-size 10] [--hidden 1000] [--quality-images 0]
"""

import argparse
import os
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM

from _common import products_seconds, report
from deepbelief import RBM
from deepbelief.datasets import load_mnist

PRECISIONS = ("float32", "bfloat16", "int8")


def matmul_gflops(dtype, n=2048, repeats=10):
    """Best-of GFLOP/s of an n x n x n product in torch at ``dtype`` (the practical peak)."""
    if dtype == torch.int8:
        a, b = (torch.randint(-127, 128, (n, n), dtype=dtype) for _ in range(2))
        product = torch._int_mm
    else:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        product = torch.mm
    product(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def cd1_epoch_flops(n_samples, n_visible, n_hidden):
    """Matrix-product FLOPs of one CD-1 epoch: v->h, h->v, v->h and the two outer products."""
    return 5 * 2 * n_samples * n_visible * n_hidden


def ours(n_hidden, batch_size, precision, n_iter=1, seed=0):
    return RBM(n_hidden, n_iter=n_iter, batch_size=batch_size, learning_rate=0.1, momentum=0.5,
               random_state=seed, device="cpu", precision=precision)


def theirs(n_hidden, batch_size, n_iter=1, seed=0):
    return BernoulliRBM(n_components=n_hidden, n_iter=n_iter, batch_size=batch_size,
                        learning_rate=0.1, random_state=seed)


def fit_seconds(make, X):
    """Wall time of one fit of a fresh model."""
    start = time.perf_counter()
    make().fit(X)
    return time.perf_counter() - start


def quality(make, X, y, X_test, y_test):
    """Test accuracy of a logistic regression on the model's features, and reconstruction error."""
    model = make().fit(X)
    clf = LogisticRegression(max_iter=1000).fit(model.transform(X), y)
    accuracy = clf.score(model.transform(X_test), y_test)
    if isinstance(model, RBM):
        reconstruction = model.reconstruct(X_test)
    else:  # BernoulliRBM: E[v | E[h | v]] by hand
        h = model.transform(X_test)
        reconstruction = 1 / (1 + np.exp(-(h @ model.components_ + model.intercept_visible_)))
    return 100 * accuracy, float(np.mean((reconstruction - X_test) ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--batch-size", type=int, default=100, help="scikit-learn's default is 10")
    parser.add_argument("--hidden", type=int, default=500, help="hidden units")
    parser.add_argument("--quality-images", type=int, default=10_000,
                        help="training images for the quality check (0 skips it)")
    parser.add_argument("--quality-epochs", type=int, default=10)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit torch and NumPy's BLAS to this many threads (default: all)")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    data = load_mnist(data_home=args.data_home, verbose=0)
    X = data.X_train.astype(np.float32)
    h, bs = args.hidden, args.batch_size
    makers = {
        "deepbelief_float32": lambda **kw: ours(h, bs, "float32", **kw),
        "deepbelief_bfloat16": lambda **kw: ours(h, bs, "bfloat16", **kw),
        "deepbelief_int8": lambda **kw: ours(h, bs, "int8", **kw),
        "sklearn": lambda **kw: theirs(h, bs, **kw),
    }
    peaks = {p: matmul_gflops(getattr(torch, p)) for p in PRECISIONS}
    seconds = {name: float("inf") for name in makers}
    floor = {p: float("inf") for p in PRECISIONS}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits all of them alike
        for name, make in makers.items():
            seconds[name] = min(seconds[name], fit_seconds(make, X))
        for p in PRECISIONS:
            floor[p] = min(floor[p], products_seconds(getattr(torch, p), *X.shape, h, bs))
    flops = cd1_epoch_flops(*X.shape, h)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch_threads": torch.get_num_threads(),
        "hidden": h,
        "batch_size": bs,
        **{f"matmul_peak_gflops_{p}": round(peaks[p], 1) for p in PRECISIONS},
    }
    for name in makers:
        result[f"{name}_seconds_per_epoch"] = round(seconds[name], 3)
    for p in PRECISIONS:
        name = f"deepbelief_{p}"
        gflops = flops / seconds[name] / 1e9
        result[f"{name}_speedup_vs_sklearn"] = round(seconds["sklearn"] / seconds[name], 2)
        result[f"{name}_gflops"] = round(gflops, 1)
        result[f"{name}_fraction_of_{p}_peak"] = round(gflops / peaks[p], 2)
        # The products alone: the floor of any CD-1 epoch at this precision, and so the ceiling
        # of its speedup over scikit-learn in this run.
        result[f"{p}_products_alone_seconds"] = round(floor[p], 3)
        result[f"{p}_speedup_ceiling_vs_sklearn"] = round(seconds["sklearn"] / floor[p], 2)
    result["sklearn_gflops"] = round(flops / seconds["sklearn"] / 1e9, 1)
    if args.quality_images:
        n = args.quality_images
        X_small, y_small = X[:n], data.y_train[:n]
        X_test = data.X_test.astype(np.float32)
        for name, make in makers.items():
            acc, rec = quality(lambda make=make: make(n_iter=args.quality_epochs),
                               X_small, y_small, X_test, data.y_test)
            result[f"{name}_logistic_accuracy_percent"] = round(acc, 2)
            result[f"{name}_test_reconstruction_error"] = round(rec, 5)
    return report(args, result, width=48)


if __name__ == "__main__":
    main()
