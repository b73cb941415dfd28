"""Samples of MNIST models scored by ``sample_quality``: where the chains start, and which model.

For each model, 100 chains of ``sample`` (E[v | h] after 1,000 Gibbs steps unless
``--burn-in``), started from noise (what ``sample`` did before issue 22), from the visible biases,
from the model's persistent chains (the default of a PCD model) and, for reference, from 100
test digits; each set is scored and drawn into ``--out-dir``. The reference rows (real digits,
noise, the mean image) are scored in the same run.

Models: ``--rbm`` (a saved PCD RBM, e.g. ``bench/rbm_likelihood.py --epochs 300 --save-model``),
``--dbn`` (a saved DBN, e.g. ``bench/dbn_likelihood.py --save-dbn``), ``--dbm`` (a saved DBM,
e.g. from ``bench/dbm_mnist.py --save-dir``), and a CD-1 RBM with the
library's defaults (``RBM().fit`` on the 60,000 training images, trained here unless
``--cd-rbm`` names a saved one): the blurry chains-from-noise reference.

    python bench/sample_quality.py --rbm rbm.safetensors --dbn dbn.safetensors [--dbm FILE] [--cd-rbm FILE]
        [--burn-in 1000] [--short-burn-ins 1 10 100] [--out-dir samples/] [--out result.json]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from _common import add_common_args, set_threads, write_result
from deepbelief import RBM, load
from deepbelief.datasets import load_mnist
from deepbelief.models import sample_quality
from deepbelief.viz.figures import plot_image_grid

INITS = ("noise", "biases", "persistent", "data")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rbm", default=None, help="a saved PCD RBM")
    p.add_argument("--dbn", default=None, help="a saved DBN")
    p.add_argument("--dbm", default=None, help="a saved DBM (e.g. bench/dbm_mnist.py --save-dir)")
    p.add_argument("--cd-rbm", default=None, help="a saved CD-1 RBM (default: train RBM() here)")
    p.add_argument("--save-cd-rbm", default=None)
    p.add_argument("--n-samples", type=int, default=100)
    p.add_argument("--burn-in", type=int, default=1000)
    p.add_argument("--short-burn-ins", type=int, nargs="*", default=[1, 10, 100],
                   help="also score chains from noise and from the persistent chains after these "
                        "few steps (where the start shows)")
    p.add_argument("--out-dir", default="samples")
    add_common_args(p, pretrain=False)
    args = p.parse_args(argv)
    if args.quick:
        args.train_size = args.train_size or 2000
        args.n_samples, args.burn_in = 20, 20
    return args


def score_row(name, images, seconds=None):
    q = sample_quality(images)
    took = "" if seconds is None else f"{seconds:6.1f} s"
    print(f"{name:52s} {q.mean_confidence:6.3f} {q.confident_fraction:6.2f} {q.n_classes:4d} "
          f"{q.inception_score:6.2f}  {list(q.class_counts)} {took}", flush=True)
    return {**q.as_dict(), "seconds": seconds}


def main(argv=None):
    args = parse_args(argv)
    set_threads(args)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mnist = load_mnist(args.data_home, verbose=0)
    n = args.n_samples
    print(f"{'samples (' + str(n) + ')':52s} {'conf':>6s} {'>=0.9':>6s} {'cls':>4s} {'IS':>6s}  "
          "confident samples per digit")
    rng = np.random.RandomState(args.seed)
    X = mnist.X_train[: args.train_size]
    result = {"benchmark": "sample_quality", "quick": args.quick, "train_size": len(X),
              "burn_in": args.burn_in, "n_samples": n, "rows": {}}
    rows = result["rows"]
    rows["real test digits"] = score_row("real test digits", mnist.X_test[:n])
    rows["uniform noise"] = score_row("uniform noise", rng.rand(n, 784))
    rows["mean training image"] = score_row("mean training image",
                                            np.tile(X.mean(axis=0), (n, 1)))

    models = {}
    if args.cd_rbm:
        models["CD-1 RBM, library defaults"] = load(args.cd_rbm)
    else:
        start = time.perf_counter()
        cd = RBM(50 if args.quick else 500, n_iter=3 if args.quick else "auto",
                 random_state=args.seed, device=args.device, precision=args.precision,
                 verbose=0).fit(X)
        result["cd_rbm_train_s"] = time.perf_counter() - start
        if args.save_cd_rbm:
            cd.save(args.save_cd_rbm)
        models["CD-1 RBM, library defaults"] = cd
    if args.rbm:
        models["PCD RBM"] = load(args.rbm)
    if args.dbn:
        models["DBN"] = load(args.dbn)
    if args.dbm:
        models["DBM"] = load(args.dbm)
    for label, model in models.items():
        if hasattr(model, "_chains"):  # a DBM keeps its fantasy particles
            has_chains = model._chains is not None
        else:
            has_chains = getattr(model.rbms_[-1] if hasattr(model, "rbms_") else model,
                                 "_persistent", None) is not None
        for init in INITS:
            if init == "persistent" and not has_chains:
                continue
            model_seed(model, args.seed)
            start = time.perf_counter()
            if init == "data":
                images = model.sample(init=mnist.X_test[n : 2 * n], burn_in=args.burn_in)
            else:
                images = model.sample(n, args.burn_in, init=init)
            seconds = time.perf_counter() - start
            name = f"{label}, from {init}"
            rows[name] = score_row(name, images, seconds)
            tag = name.lower().replace(",", "").replace(" ", "_").replace("-", "")
            plot_image_grid(images, (28, 28), out / f"{tag}.png", name, normalize=None)
        for burn_in in args.short_burn_ins:
            for init in ("noise", "persistent") if has_chains else ("noise",):
                model_seed(model, args.seed)
                name = f"{label}, from {init}, {burn_in} steps"
                rows[name] = score_row(name, model.sample(n, burn_in, init=init))
    return write_result(args, result)


def model_seed(model, seed):
    """Every set starts from the same random stream, so the starts are compared alone."""
    for part in getattr(model, "rbms_", [model]):
        part.random_state_ = np.random.RandomState(seed)


if __name__ == "__main__":
    main()
