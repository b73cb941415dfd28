"""One CD-1 epoch over MNIST's 60,000 training images, 784 -> 500, batch 100, float32.

Times deepbelief's RBM and scikit-learn's BernoulliRBM on the same data in the same run, and
a large float32 matrix product for the machine's practical peak, so the numbers are ratios
that survive a noisy shared machine.

    python bench/rbm_throughput.py [--data-home DIR] [--repeats 3] [--device cpu] [--threads 1]
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM

from deepbelief import RBM
from deepbelief.datasets import load_mnist

N_HIDDEN, BATCH = 500, 100


def matmul_gflops(n=2048, repeats=10):
    """Best-of float32 GFLOP/s of an n x n x n product in torch (the BLAS practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def cd1_epoch_flops(n_samples, n_visible, n_hidden):
    """Matrix-product FLOPs of one CD-1 epoch: v->h, h->v, v->h and the two outer products."""
    return 5 * 2 * n_samples * n_visible * n_hidden


def time_ours(X, device, repeats):
    times = []
    for seed in range(repeats):
        rbm = RBM(N_HIDDEN, n_iter=1, batch_size=BATCH, learning_rate=0.1, momentum=0.5,
                  random_state=seed, device=device)
        start = time.perf_counter()
        rbm.fit(X)
        times.append(time.perf_counter() - start)
    return min(times), rbm


def time_sklearn(X, repeats):
    times = []
    for seed in range(repeats):
        rbm = BernoulliRBM(n_components=N_HIDDEN, n_iter=1, batch_size=BATCH, learning_rate=0.1,
                           random_state=seed)
        start = time.perf_counter()
        rbm.fit(X)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda for deepbelief")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit torch and NumPy's BLAS to this many threads (default: all)")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    X = load_mnist(data_home=args.data_home, verbose=0).X_train.astype(np.float32)
    peak = matmul_gflops()
    ours, rbm = time_ours(X, args.device, args.repeats)
    theirs = time_sklearn(X, args.repeats)
    flops = cd1_epoch_flops(*X.shape, N_HIDDEN)
    result = {
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(__import__("os").getloadavg()[0], 2),
        "device": str(rbm.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")),
        "deepbelief_seconds_per_epoch": round(ours, 3),
        "sklearn_seconds_per_epoch": round(theirs, 3),
        "speedup_vs_sklearn": round(theirs / ours, 2),
        "deepbelief_gflops": round(flops / ours / 1e9, 1),
        "matmul_peak_gflops": round(peak, 1),
        "fraction_of_peak": round(flops / ours / 1e9 / peak, 2),
        "reconstruction_error_after_epoch": round(rbm.history_["reconstruction_error"][-1], 4),
    }
    for key, value in result.items():
        print(f"{key:34s} {value}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
