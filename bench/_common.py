"""What the benchmark scripts share: the common flags, thread setup, the CD-1 products timer, and
printing and writing the result."""

import json
import os
import time

import torch


def add_common_args(parser, pretrain=True):
    """The flags every model benchmark takes (``--quick``, data, device, threads, seed, output)."""
    parser.add_argument("--quick", action="store_true",
                        help="a small run that checks the script works")
    if pretrain:
        parser.add_argument("--no-pretrain", action="store_true",
                            help="same net from random weights")
    parser.add_argument("--train-size", type=int, default=None,
                        help="use the first N training images")
    parser.add_argument("--data-home", default=None,
                        help="MNIST directory (default: $DEEPBELIEF_DATA)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is steadier when busy)")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16", "auto", "int8"],
                        help="the dtype of the products of training (the models' precision=; "
                        "int8 only where RBMs alone train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the result as JSON to this file")


def model_params(args):
    """Hinton et al.'s (2006) pretraining recipe and the run options every benchmark model
    shares (the learning rate of pretraining is each script's own)."""
    return {
        "pretrain": not args.no_pretrain,
        "pretrain_n_iter": args.pretrain_epochs,
        "pretrain_momentum": (0.5, 0.9),
        "pretrain_weight_decay": 2e-4,
        "batch_size": 100,
        "random_state": args.seed,
        "device": args.device,
        "precision": args.precision,
        "verbose": args.verbose,
    }


def set_threads(args):
    if args.threads:
        torch.set_num_threads(args.threads)  # a script's choice; the library never does this


def products_seconds(dtype, n_samples, n_visible, n_hidden, batch_size):
    """Wall time of one CD-1 epoch's matrix products alone (v->h, h->v, v->h and the weight
    gradient as one product with K = 2 x batch), in ``dtype``, on random data: no CD-1 built on
    these products can beat it, so scikit-learn's time over it bounds the possible speedup."""
    g = torch.Generator().manual_seed(0)
    if dtype == torch.int8:  # int32 results, no biases: the products of _core/cd_int8.py
        return _int8_products_seconds(g, n_samples, n_visible, n_hidden, batch_size)
    v = torch.rand(batch_size, n_visible, generator=g).to(dtype)
    W = (torch.randn(n_hidden, n_visible, generator=g) * 0.01).to(dtype)
    b, c = torch.zeros(n_visible, dtype=dtype), torch.zeros(n_hidden, dtype=dtype)
    A = torch.zeros(2 * batch_size, n_hidden, dtype=dtype)
    B = torch.zeros(2 * batch_size, n_visible, dtype=dtype)
    product = torch.empty(n_hidden, n_visible, dtype=dtype)
    n = batch_size
    start = time.perf_counter()
    for _ in range(n_samples // batch_size):
        torch.addmm(c, v, W.T, out=A[:n])
        torch.addmm(b, A[:n], W, out=B[n:])
        torch.addmm(c, B[n:], W.T, out=A[n:])
        torch.mm(A.T, B, out=product)
    return time.perf_counter() - start


def _int8_products_seconds(g, n_samples, n_visible, n_hidden, batch_size):
    n, i8, i32 = batch_size, torch.int8, torch.int32
    A = torch.randint(-127, 128, (2 * n, n_hidden), generator=g, dtype=i8)
    B = torch.randint(0, 128, (2 * n, n_visible), generator=g, dtype=i8)
    W = torch.randint(-127, 128, (n_hidden, n_visible), generator=g, dtype=i8)
    to_hidden, to_visible = torch.empty(n, n_hidden, dtype=i32), torch.empty(n, n_visible, dtype=i32)
    product = torch.empty(n_hidden, n_visible, dtype=i32)
    start = time.perf_counter()
    for _ in range(n_samples // batch_size):
        torch._int_mm(B[:n], W.T, out=to_hidden)
        torch._int_mm(A[:n], W, out=to_visible)
        torch._int_mm(B[n:], W.T, out=to_hidden)
        torch._int_mm(A.T, B, out=product)
    return time.perf_counter() - start


def write_result(args, result):
    """Stamp the result with the date and load and write it to ``--out``."""
    result.setdefault("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    result.setdefault("load_average_1min_at_end", round(os.getloadavg()[0], 2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


def report(args, result, width=40):
    """Print the result a key per line, then stamp and write it as ``write_result`` does."""
    for key, value in result.items():
        print(f"{key:{width}s} {value}")
    return write_result(args, result)
