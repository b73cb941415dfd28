"""What bounds a bfloat16 CD-1 epoch here: the step written plainly, compiled, stripped, and its products alone.

Issue 10 asks for 3x scikit-learn's BernoulliRBM at bfloat16 (784 -> 500, batch 100, one epoch
of MNIST's 60,000 images). This script times, interleaved and in one run, the variants that
decide whether any CD-1 built on torch can get there on this machine:

- ``deepbelief``: ``RBM(precision="bfloat16").fit``, all of it, as ``bench/rbm_throughput.py``
  times it (the variants below time the epoch loop alone, on data already in bfloat16);
- ``eager``: the same CD-1 step as one plain torch function (bfloat16 products, float32 weights
  and momentum, Bernoulli draws, the reconstruction error, bias sums, the update);
- ``compiled``: that function under ``torch.compile(fullgraph=True)``, its compile time apart
  (needs a C++ compiler; reported as an error string without one);
- ``stripped``: the step with no random numbers at all (states are thresholded at 0.5), no
  error, the bias sums as matrix-vector products and the update as ``torch._foreach_*`` calls:
  what is left when the draws and the bookkeeping cost nothing;
- ``products``: the four matrix products of the step alone (``_common.products_seconds``);
- ``sections``: deepbelief's step (kept buffers, its own random draws) with a clock between its
  parts, so the JSON says where an epoch's time beyond the products goes;
- ``sklearn``: ``BernoulliRBM.fit`` for one epoch, the other side of every ratio.

Only a benchmark: it seeds torch's global generator for the compiled variant's draws, which the
library itself never does.

    python bench/cd1_floor.py [--data-home DIR] [--repeats 3] [--train-size N] [--no-compile]
        [--out result.json]
"""

import argparse
import time
from collections import defaultdict

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM

from _common import products_seconds, report
from deepbelief import RBM
from deepbelief._core.backend import RandomSource
from deepbelief.datasets import load_mnist

BF16 = torch.bfloat16
N_HIDDEN, BATCH, LR, MOMENTUM = 500, 100, 0.1, 0.5


def step(v0, W, b, c, vW, vb, vc):
    """One CD-1 update from the batch ``v0`` (bfloat16) on float32 ``W, b, c`` and velocities."""
    Wb, bb, cb = W.to(BF16), b.to(BF16), c.to(BF16)
    h0_mean = torch.sigmoid(torch.addmm(cb, v0, Wb.T))  # (B, H)
    h0 = (torch.rand_like(h0_mean, dtype=torch.float32) < h0_mean).to(BF16)
    v1_mean = torch.sigmoid(torch.addmm(bb, h0, Wb))  # (B, V)
    error = (v1_mean.float() - v0.float()).square().mean()
    v1 = (torch.rand_like(v1_mean, dtype=torch.float32) < v1_mean).to(BF16)
    h1_mean = torch.sigmoid(torch.addmm(cb, v1, Wb.T))
    A, B = torch.cat([h0_mean, -h1_mean]), torch.cat([v0, v1])
    n = v0.shape[0]
    vW.mul_(MOMENTUM).add_(torch.mm(A.T, B).float(), alpha=LR / n)
    vb.mul_(MOMENTUM).add_(v0.float().sum(0) - v1.float().sum(0), alpha=LR / n)
    vc.mul_(MOMENTUM).add_(h0_mean.float().sum(0) - h1_mean.float().sum(0), alpha=LR / n)
    W.add_(vW)
    b.add_(vb)
    c.add_(vc)
    return error


def fresh_state(n_visible):
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(N_HIDDEN, n_visible, generator=g) * 0.01, torch.zeros(n_visible),
              torch.zeros(N_HIDDEN)]
    return params, [torch.zeros_like(p) for p in params]


def function_epoch(fn, data, order):
    """Seconds for one epoch of ``fn(v0, W, b, c, vW, vb, vc)`` over ``data`` in ``order``."""
    params, velocity = fresh_state(data.shape[1])
    errors = torch.empty(len(order) // BATCH)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(len(errors)):
            errors[i] = fn(data[order[i * BATCH : (i + 1) * BATCH]], *params, *velocity)
    return time.perf_counter() - start


def stripped_epoch(data, order):
    """The step with nothing but the products, sigmoids, thresholds and the update, in kept buffers."""
    (W, b, c), velocity = fresh_state(data.shape[1])
    params, shadow = [W, b, c], [p.to(BF16) for p in (W, b, c)]
    Wb, bb, cb = shadow
    n, n_visible = BATCH, data.shape[1]
    A = torch.empty(2 * n, N_HIDDEN, dtype=BF16)
    B = torch.empty(2 * n, n_visible, dtype=BF16)
    v1_mean, h0 = torch.empty(n, n_visible, dtype=BF16), torch.empty(n, N_HIDDEN, dtype=BF16)
    product, product32 = torch.empty(N_HIDDEN, n_visible, dtype=BF16), torch.empty(N_HIDDEN, n_visible)
    signs = torch.cat([torch.ones(n), -torch.ones(n)]).to(BF16)
    ones = torch.ones(2 * n, dtype=BF16)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(len(order) // n):
            v0 = torch.index_select(data, 0, order[i * n : (i + 1) * n], out=B[:n])
            torch.gt(torch.addmm(cb, v0, Wb.T, out=A[:n]).sigmoid_(), 0.5, out=h0)
            torch.gt(torch.addmm(bb, h0, Wb, out=v1_mean).sigmoid_(), 0.5, out=B[n:])
            torch.addmm(cb, B[n:], Wb.T, out=A[n:]).sigmoid_().neg_()
            grad_b, grad_c = torch.mv(B.T, signs), torch.mv(A.T, ones)
            torch.mm(A.T, B, out=product)
            torch._foreach_mul_(velocity, MOMENTUM)
            torch._foreach_add_(velocity, [product32.copy_(product), grad_b, grad_c], alpha=LR / n)
            torch._foreach_add_(params, velocity)
            torch._foreach_copy_(shadow, params)
    return time.perf_counter() - start


def sectioned_epoch(data, order):
    """One epoch of deepbelief's bfloat16 CD-1 step written out (the buffers of ``_core.cd``, the
    draws of its ``RandomSource``), timed part by part: (seconds in all, {part: seconds})."""
    (W, b, c), (vW, vb, vc) = fresh_state(data.shape[1])
    Wb, bb, cb = W.to(BF16), b.to(BF16), c.to(BF16)
    n, n_visible = BATCH, data.shape[1]
    A, B = torch.empty(2 * n, N_HIDDEN, dtype=BF16), torch.empty(2 * n, n_visible, dtype=BF16)
    A32, B32 = torch.empty(2 * n, N_HIDDEN), torch.empty(2 * n, n_visible)
    h0, v1_mean = torch.empty(n, N_HIDDEN, dtype=BF16), torch.empty(n, n_visible, dtype=BF16)
    diff = torch.empty(n, n_visible, dtype=BF16)
    product, product32 = torch.empty(N_HIDDEN, n_visible, dtype=BF16), torch.empty(N_HIDDEN, n_visible)
    source, parts, clock = RandomSource(0, "cpu"), defaultdict(float), time.perf_counter

    def lap(part, since):
        now = clock()
        parts[part] += now - since
        return now

    start = clock()
    with torch.inference_mode():
        for i in range(len(order) // n):
            t = clock()
            torch.index_select(data, 0, order[i * n : (i + 1) * n], out=B[:n])
            t = lap("batch", t)
            torch.addmm(cb, B[:n], Wb.T, out=A[:n])
            t = lap("products", t)
            A[:n].sigmoid_()
            t = lap("sigmoids", t)
            source.bernoulli(A[:n], out=h0)
            t = lap("draws", t)
            torch.addmm(bb, h0, Wb, out=v1_mean)
            t = lap("products", t)
            v1_mean.sigmoid_()
            t = lap("sigmoids", t)
            torch.sub(v1_mean, B[:n], out=diff).square_().mean(dtype=torch.float32)
            t = lap("error", t)
            source.bernoulli(v1_mean, out=B[n:])
            t = lap("draws", t)
            torch.addmm(cb, B[n:], Wb.T, out=A[n:])
            t = lap("products", t)
            A[n:].sigmoid_()
            t = lap("sigmoids", t)
            sums_v, sums_h = B32.copy_(B).view(2, n, -1).sum(1), A32.copy_(A).view(2, n, -1).sum(1)
            grad_b, grad_c = sums_v[0].sub_(sums_v[1]).div_(n), sums_h[0].sub_(sums_h[1]).div_(n)
            A[n:].neg_()
            t = lap("bias sums", t)
            torch.mm(A.T, B, out=product)
            t = lap("products", t)
            vW.mul_(MOMENTUM).add_(product32.copy_(product), alpha=LR / n)
            vb.mul_(MOMENTUM).add_(grad_b, alpha=LR)
            vc.mul_(MOMENTUM).add_(grad_c, alpha=LR)
            for p, v, low in ((W, vW, Wb), (b, vb, bb), (c, vc, cb)):
                low.copy_(p.add_(v))
            lap("update", t)
    return clock() - start, dict(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--repeats", type=int, default=3, help="epochs of each; the best is kept")
    parser.add_argument("--train-size", type=int, default=None, help="first N training images")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled variant")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    X = load_mnist(data_home=args.data_home, verbose=0).X_train[: args.train_size].astype(np.float32)
    data = torch.from_numpy(X).to(BF16)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)  # the compiled and eager steps draw from torch's global generator
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "images": len(X)}
    runs = {
        "deepbelief": lambda: _seconds(lambda: RBM(N_HIDDEN, n_iter=1, batch_size=BATCH,
                                                   learning_rate=LR, momentum=MOMENTUM,
                                                   random_state=0, device="cpu",
                                                   precision="bfloat16").fit(X)),
        "eager": lambda: function_epoch(step, data, order),
        "stripped": lambda: stripped_epoch(data, order),
        "products": lambda: products_seconds(BF16, len(X), X.shape[1], N_HIDDEN, BATCH),
        "sklearn": lambda: _seconds(lambda: BernoulliRBM(n_components=N_HIDDEN, n_iter=1,
                                                         batch_size=BATCH, learning_rate=LR,
                                                         random_state=0).fit(X)),
    }
    try:
        if args.no_compile:
            raise RuntimeError("skipped (--no-compile)")
        compiled = torch.compile(step, fullgraph=True, dynamic=False)
        params, velocity = fresh_state(X.shape[1])
        with torch.inference_mode():
            result["compile_seconds"] = round(_seconds(lambda: compiled(data[:BATCH], *params, *velocity)), 2)
        runs["compiled"] = lambda: function_epoch(compiled, data, order)
    except Exception as exc:  # no C++ compiler, or a torch without inductor for this CPU
        result["compile_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    seconds = {name: float("inf") for name in runs}
    best_parts = {}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits all of them alike
        for name, run in runs.items():
            seconds[name] = min(seconds[name], run())
        total, parts = sectioned_epoch(data, order)
        if total < seconds.get("sections", float("inf")):
            seconds["sections"], best_parts = total, parts
    for name, s in seconds.items():
        result[f"{name}_seconds"] = round(s, 3)
        if name != "sklearn":
            result[f"{name}_speedup_vs_sklearn"] = round(seconds["sklearn"] / s, 2)
    for part, s in best_parts.items():  # of the fastest sectioned epoch
        result[f"sections_{part.replace(' ', '_')}_seconds"] = round(s, 3)
    return report(args, result, width=36)


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
