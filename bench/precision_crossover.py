"""Where bfloat16 products pay: float32 against bfloat16 per training batch, small to large models.

bfloat16 products run about twice as fast as float32 on a CPU with AVX-512 BF16, but every
product and cast also has a fixed cost that is higher in bfloat16 (oneDNN's call, the copies in
and out of float32). Below some size the fixed cost wins. This script times, in one run and
interleaved, a CD-1 epoch of an RBM and a backprop epoch of a sigmoid net at both precisions on
random data, for a grid of sizes at batch 100 and batch 10, and prints microseconds per batch,
the ratio and the multiply-adds per product and batch (batch x n_in x n_out, averaged over the
net's layers), which is what ``precision="auto"`` decides by (``_core/precision.py``).

    python bench/precision_crossover.py [--repeats 3] [--batch-sizes 100 10] [--out result.json]
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from _common import write_result
from deepbelief import RBM
from deepbelief._core import backprop
from deepbelief._core.backend import RandomSource
from deepbelief._core.precision import AUTO_BFLOAT16_MIN_MACS, cpu_has_native_bfloat16, macs_per_product

RBM_SIZES = [(64, 64), (64, 256), (64, 1000), (196, 256), (784, 64), (784, 128), (784, 256),
             (784, 500), (500, 2000)]
NET_SIZES = [(64, 100, 10), (64, 256, 256, 10), (64, 1000, 10), (784, 100, 10), (784, 256, 10),
             (784, 500, 10), (784, 500, 500, 2000, 10), (784, 1000, 500, 250, 30, 250, 500, 1000, 784)]
WORK_PER_FIT = 4e9  # multiply-adds per timed fit (about a second), so small models run many batches


def shapes(layers):
    return list(zip(layers[:-1], layers[1:]))


def n_rows(batch_size, layers):
    work = sum(a * b for a, b in shapes(layers))
    return batch_size * max(20, min(60_000 // batch_size, int(WORK_PER_FIT / work / batch_size)))


def rbm_batch_us(layers, batch_size, precision, rng):
    n_visible, n_hidden = layers
    X = rng.random((n_rows(batch_size, layers), n_visible)).astype(np.float32)
    model = RBM(n_hidden, n_iter=1, batch_size=batch_size, random_state=0, device="cpu",
                precision=precision).fit(X)
    return model.history_["time"][0] / (len(X) / batch_size) * 1e6


def backprop_batch_us(layers, batch_size, dtype, rng):
    n = n_rows(batch_size, layers)
    X = torch.from_numpy(rng.random((n, layers[0])).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, layers[-1], n))
    init = np.random.RandomState(0)
    weights = backprop.as_parameters([backprop.glorot(init, a, b, True)[0] for a, b in shapes(layers)], "cpu")
    biases = backprop.as_parameters([np.zeros(b, np.float32) for _, b in shapes(layers)], "cpu")

    def batch_loss(rows):
        h = X[rows]
        for W, b in zip(weights[:-1], biases[:-1]):
            h = backprop.layer_forward(h, W, b, "sigmoid")
        z = backprop.layer_forward(h, weights[-1], biases[-1], "linear")
        return F.cross_entropy(z, y[rows]), (z.argmax(1) != y[rows]).sum()

    settings = backprop.Settings(n_iter=1, batch_size=batch_size, dtype=dtype)
    history = backprop.new_history("train_error", False)
    backprop.train(weights, biases, batch_loss, n, settings, RandomSource(0, "cpu"),
                   history=history, metric="train_error")
    return history["time"][0] / (n / batch_size) * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits of each; the best is kept")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 10])
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    cases = [("rbm", s, bs) for bs in args.batch_sizes for s in RBM_SIZES]
    cases += [("backprop", s, bs) for bs in args.batch_sizes for s in NET_SIZES]
    rows = []
    print(f"native bfloat16: {cpu_has_native_bfloat16()}, torch threads {torch.get_num_threads()}, "
          f"auto picks bfloat16 from {AUTO_BFLOAT16_MIN_MACS:,} multiply-adds per product")
    for kind, layers, batch_size in cases:
        best = {"float32": float("inf"), "bfloat16": float("inf")}
        for _ in range(args.repeats):  # interleaved, so a burst of load hits both alike
            for precision in best:
                if kind == "rbm":
                    us = rbm_batch_us(layers, batch_size, precision, rng)
                else:
                    us = backprop_batch_us(layers, batch_size, getattr(torch, precision), rng)
                best[precision] = min(best[precision], us)
        macs = macs_per_product(batch_size, shapes(layers))
        row = {"kind": kind, "layers": list(layers), "batch_size": batch_size,
               "macs_per_product": int(macs), "float32_us": round(best["float32"], 1),
               "bfloat16_us": round(best["bfloat16"], 1),
               "bfloat16_speedup": round(best["float32"] / best["bfloat16"], 2),
               "auto_picks": "bfloat16" if macs >= AUTO_BFLOAT16_MIN_MACS else "float32"}
        rows.append(row)
        print(f"{kind:8s} {'-'.join(map(str, layers)):32s} batch {batch_size:3d} "
              f"{macs / 1e6:7.2f}M MACs  float32 {row['float32_us']:8.1f} us  bfloat16 "
              f"{row['bfloat16_us']:8.1f} us  {row['bfloat16_speedup']:.2f}x  auto: {row['auto_picks']}",
              flush=True)
    return write_result(args, {"rows": rows})


if __name__ == "__main__":
    main()
