"""RBM training on scipy.sparse bag-of-words data: deepbelief sparse, the same rows dense, and
scikit-learn's BernoulliRBM on the same CSR matrix, in one run.

The data are ``--rows`` documents over a ``--vocabulary`` of words, each word present with a
Zipf-like probability (a few common words, a long tail), as 0/1 presence features in a CSR
matrix (float64, what ``CountVectorizer(binary=True)`` gives after ``.astype(float)``). Each
side trains ``--epochs`` epochs of PCD-1 without momentum (BernoulliRBM's algorithm), batch
``--batch-size``, in float32 products; then ``transform`` of all rows is timed. The sparse and
dense deepbelief models must be equal bit for bit (``same_model``).

    python bench/sparse_throughput.py [--rows 20000] [--vocabulary 5000] [--hidden 256]
        [--epochs 2] [--batch-size 100] [--threads N] [--out result.json]
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

from _common import report
from deepbelief import RBM


def bag_of_words(n_rows, vocabulary, seed=0):
    """0/1 word presence with P(word j) = min(0.5, 10 / (j + 10)), as CSR: about 60 words a
    document out of 5,000 (density 1.2%)."""
    rng = np.random.RandomState(seed)
    p = np.minimum(0.5, 10 / (np.arange(vocabulary) + 10))
    rows, cols = [], []
    for start in range(0, n_rows, 1000):  # in blocks, never the dense matrix
        block = rng.rand(min(1000, n_rows - start), vocabulary) < p
        r, c = np.nonzero(block)
        rows.append(r + start)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, vocabulary))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--vocabulary", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads:  # a script's choice, for both sides (torch, and NumPy's BLAS); the library never does this
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    X = bag_of_words(args.rows, args.vocabulary)
    settings = dict(method="pcd", momentum=0.0, learning_rate=0.05, batch_size=args.batch_size,
                    n_iter=args.epochs, random_state=0, device="cpu", precision="float32")
    sparse_rbm, sparse_fit = timed(lambda: RBM(args.hidden, **settings).fit(X))
    _, sparse_transform = timed(lambda: sparse_rbm.transform(X))
    dense = X.toarray().astype(np.float32)
    dense_rbm, dense_fit = timed(lambda: RBM(args.hidden, **settings).fit(dense))
    _, dense_transform = timed(lambda: dense_rbm.transform(dense))
    theirs = BernoulliRBM(args.hidden, learning_rate=0.05, batch_size=args.batch_size, n_iter=args.epochs,
                          random_state=0)
    _, theirs_fit = timed(lambda: theirs.fit(X))
    _, theirs_transform = timed(lambda: theirs.transform(X))
    result = {
        "benchmark": "sparse_throughput",
        "rows": args.rows,
        "vocabulary": args.vocabulary,
        "density": round(X.nnz / (X.shape[0] * X.shape[1]), 5),
        "hidden": args.hidden,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "fit_seconds": {"deepbelief sparse": sparse_fit, "deepbelief dense": dense_fit,
                        "BernoulliRBM sparse": theirs_fit},
        "transform_seconds": {"deepbelief sparse": sparse_transform, "deepbelief dense": dense_transform,
                              "BernoulliRBM sparse": theirs_transform},
        "fit_speedup_over_sklearn": round(theirs_fit / max(sparse_fit, 1e-9), 2),
        "sparse_fit_over_dense_fit": round(sparse_fit / max(dense_fit, 1e-9), 2),
        "same_model": bool(np.array_equal(sparse_rbm.components_, dense_rbm.components_)),
        "threads": torch.get_num_threads(),
        "blas_threads": args.threads or "default",
    }
    return report(args, result)


if __name__ == "__main__":
    main()
