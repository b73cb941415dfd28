"""DBM 784-500-1000 on binarized MNIST: the variational bound on the test log-probability (AIS
for log Z) and a DBM-initialised classifier, each beside the other side measured in the same run.

Targets (Salakhutdinov & Hinton 2009, two-layer DBM on MNIST): a lower bound of -84.62 nats per
test image; 0.95% test error for the DBM-initialised classifier.

Data: MNIST's 60,000 / 10,000 split binarized stochastically once with a fixed seed (pixel = 1
with probability intensity, numpy RandomState(--binarize-seed), training set first, then test),
as ``bench/rbm_likelihood.py`` does. The DBM trains on the grey training images, which it
binarizes afresh in every mini-batch (``--train-on resampled``, this script's default:
``DBM(sample_input=True)``), or on that one binarization (``--train-on fixed``), or on the grey
values as they are (``--train-on grey``: ``sample_input=False``, DBM's default). The bounds are
always of the fixed binary images (test, and the first 10,000 training images). The
classifiers train on the grey images (``--classifier``).

Likelihood: log Z by AIS on the even layers (v, h2) with h1 summed out, the standard schedule
shape (``--n-betas``, default 14,501), 100 runs, base rate from the first 10,000 training images
and their mean-field posteriors; the bound is the mean over the test images of
E_q[-E] + H(q) - log Z with ``--eval-mean-field`` steps of mean field, given with the band of
log Z's +-3 sigma. The other side in the same run: a 784-500 RBM trained with the recipe of
``rbm_likelihood.py`` (PCD-1, lr 0.05 linear to 0, weight decay 2e-4; on the fixed binary
images, as RBM has no per-batch binarization) for ``--rbm-epochs``,
scored with the same AIS settings (``--rbm-epochs 0`` skips it).

Classifier (``--classifier``): ``DBMClassifier`` started from the DBM trained here (its input
augmented with q(h2 | v)) against ``DBNClassifier`` 784-500-1000 pretrained and fine-tuned with
the same settings, both on the grey images, test error on the 10,000 test images. The
classifiers compute in ``--classifier-precision`` (float32 unless told; the DBM in
``--precision``), and ``--classifier-seeds N`` fits each N times and reports the mean.

Models go to ``--save-dir`` (outside the repository), with snapshots during joint training
(``--snapshots``), so ``--load FILE`` re-evaluates one without training.

    python bench/dbm_mnist.py [--quick] [--train-size N] [--pretrain-epochs 50|auto]
        [--epochs 100|auto] [--train-on resampled|fixed|grey] [--learning-rate 0.005] [--n-betas N]
        [--rbm-epochs 100] [--classifier] [--classifier-seeds 1]
        [--save-dir DIR] [--snapshots 10,50] [--load FILE] [--pretrained FILE] [--out result.json]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from _common import add_common_args, set_threads, write_result
from deepbelief import DBM, RBM, DBMClassifier, DBNClassifier, load
from deepbelief.datasets import load_mnist
from rbm_likelihood import binarize

PAPER = {"dbm_784_500_1000_bound": -84.62, "dbm_classifier_test_error": 0.0095}


def epochs(text):
    return text if text == "auto" else int(text)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, nargs=2, default=[500, 1000])
    p.add_argument("--pretrain-epochs", type=epochs, default=50,
                   help="epochs of each RBM ('auto': DBM's default)")
    p.add_argument("--pretrain-learning-rate", type=float, default=0.05)
    p.add_argument("--epochs", type=epochs, default=100,
                   help="joint-training epochs ('auto': DBM's default)")
    p.add_argument("--learning-rate", type=float, default=0.005)
    p.add_argument("--weight-decay", type=float, default=2e-4)
    p.add_argument("--k", type=int, default=5, help="Gibbs sweeps of the chains per update")
    p.add_argument("--mean-field", type=int, default=10, help="mean-field steps in training")
    p.add_argument("--train-on", choices=["resampled", "fixed", "grey"], default="resampled",
                   help="resampled: the grey images, binarized afresh in every mini-batch "
                        "(sample_input=True); fixed: the one fixed binarization (the recipe "
                        "before sample_input); grey: the grey values as they are "
                        "(sample_input=False, DBM's default)")
    p.add_argument("--eval-mean-field", type=int, default=30, help="mean-field steps in the bound")
    p.add_argument("--n-betas", type=int, default=None, help="AIS betas (default 14,501)")
    p.add_argument("--n-runs", type=int, default=100, help="AIS runs")
    p.add_argument("--binarize-seed", type=int, default=0)
    p.add_argument("--rbm-epochs", type=int, default=100, help="comparison RBM (0: none)")
    p.add_argument("--classifier", action="store_true", help="also the two classifiers")
    p.add_argument("--classifier-epochs", type=int, default=50, help="fine-tuning epochs")
    p.add_argument("--classifier-learning-rate", type=float, default=0.5)
    p.add_argument("--classifier-decay", type=float, default=0.96,
                   help="fine-tuning learning rate multiplied by this after every epoch")
    p.add_argument("--classifier-dropout", type=float, default=0.25, help="hidden-unit dropout")
    p.add_argument("--classifier-input-dropout", type=float, default=0.1)
    p.add_argument("--classifier-pretrain-epochs", type=int, default=20,
                   help="epochs of each RBM of the DBN classifier")
    p.add_argument("--classifier-precision", default="float32", choices=["float32", "bfloat16"],
                   help="precision of both classifiers (--precision is the DBM's)")
    p.add_argument("--classifier-seeds", type=int, default=1,
                   help="fine-tune each classifier this many times (seeds --seed, --seed + 1, "
                        "...) and report every test error and their mean")
    p.add_argument("--skip-likelihood", action="store_true", help="no AIS (e.g. with --load)")
    p.add_argument("--save-dir", default=None, help="where models and snapshots go")
    p.add_argument("--snapshots", default="", help="joint epochs to save, e.g. 10,50")
    p.add_argument("--load", default=None, help="evaluate this saved DBM instead of training")
    p.add_argument("--pretrained", default=None,
                   help="start joint training from this saved DBM's weights (no pretraining)")
    add_common_args(p, pretrain=False)
    p.set_defaults(precision="bfloat16")
    args = p.parse_args(argv)
    if args.classifier_seeds < 1:
        p.error(f"--classifier-seeds must be at least 1, got {args.classifier_seeds}")
    if args.quick:
        args.train_size = args.train_size or 2000
        args.layers, args.pretrain_epochs, args.epochs = [50, 100], 2, 2
        args.n_betas, args.n_runs, args.rbm_epochs = args.n_betas or 200, 20, min(args.rbm_epochs, 2)
        args.classifier_epochs, args.classifier_pretrain_epochs = 2, 2
    return args


def timed(fn, *a, **kw):
    start = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - start


def train_dbm(X, args, save_dir):
    snapshots = {int(s) for s in args.snapshots.split(",") if s.strip()}

    def on_epoch(dbm, epoch):
        if args.verbose:
            h = dbm.history_
            print(f"  joint epoch {epoch + 1}: reconstruction {h['reconstruction_error'][-1]:.5f}, "
                  f"{h['time'][-1]:.0f}s, lr {h['learning_rate'][-1]:.5f}", flush=True)
        if save_dir and epoch + 1 in snapshots:
            dbm.save(save_dir / f"dbm_epoch{epoch + 1}.safetensors")

    dbm = DBM((None, *args.layers), pretrain_n_iter=args.pretrain_epochs,
              pretrain_learning_rate=args.pretrain_learning_rate, n_iter=args.epochs,
              learning_rate=args.learning_rate, weight_decay=args.weight_decay, k=args.k,
              n_mean_field=args.mean_field, sample_input=args.train_on == "resampled",
              random_state=args.seed, device=args.device,
              precision=args.precision, verbose=args.verbose)
    if args.pretrained:  # its weights, with fresh chains, momentum and schedule
        start = load(args.pretrained)
        dbm.set_params(warm_start=True)
        for name in ("layer_sizes_", "weights_", "biases_", "layer_means_", "pretrain_history_",
                     "random_state_", "n_features_in_"):
            setattr(dbm, name, getattr(start, name))
        dbm._velocity = dbm._chains = None
        dbm.n_iter_, dbm.history_ = 0, {key: [] for key in start.history_}
    dbm, seconds = timed(dbm.fit, X, callback=on_epoch)
    if save_dir:
        dbm.save(save_dir / "dbm.safetensors")
    return dbm, seconds


def band(value, log_z):
    """The +-3 sigma band of log Z carried to a log-probability (log p = ... - log Z)."""
    return [value + log_z.log_z - log_z.log_z_high, value + log_z.log_z - log_z.log_z_low]


def evaluate_dbm(dbm, X, X_test, args):
    log_z, ais_seconds = timed(dbm.log_partition, X[:10_000], n_betas=args.n_betas,
                               n_runs=args.n_runs, method="ais", random_state=args.seed)
    test = dbm.log_likelihood(X_test, log_z, n_mean_field=args.eval_mean_field)
    train = dbm.log_likelihood(X[:10_000], log_z, n_mean_field=args.eval_mean_field)
    print(f"DBM: AIS {ais_seconds:.0f} s; {log_z}\ntest lower bound {test:.2f} nats per image "
          f"(3 sigma: {band(test, log_z)}); training images {train:.2f}; paper "
          f"{PAPER['dbm_784_500_1000_bound']}", flush=True)
    return {"log_z": log_z.log_z, "log_z_std": log_z.std, "log_z_3sigma": [log_z.log_z_low,
            log_z.log_z_high], "n_betas": log_z.n_betas, "n_runs": log_z.n_runs,
            "ais_time_s": ais_seconds, "test_bound": test, "test_bound_3sigma": band(test, log_z),
            "train_bound": train, "eval_mean_field": args.eval_mean_field}


def compare_rbm(X, X_test, args, save_dir):
    """The 784-500 RBM of rbm_likelihood.py's recipe, trained and scored in this run."""
    rbm = RBM(args.layers[0], method="pcd", learning_rate=0.05, learning_rate_decay="linear",
              momentum=0.0, weight_decay=2e-4, n_iter=args.rbm_epochs, random_state=args.seed,
              device=args.device, precision=args.precision, verbose=min(args.verbose, 1))
    rbm, seconds = timed(rbm.fit, X)
    if save_dir:
        rbm.save(save_dir / "rbm.safetensors")
    log_z, ais_seconds = timed(rbm.log_partition, X[:10_000], n_betas=args.n_betas,
                               n_runs=args.n_runs, random_state=args.seed)
    test = rbm.log_likelihood(X_test, log_z)
    print(f"RBM 784-{args.layers[0]} PCD-1, {args.rbm_epochs} epochs: {seconds / 60:.1f} min, "
          f"{log_z}\ntest log-probability {test:.2f} (3 sigma: {band(test, log_z)})", flush=True)
    return {"epochs": args.rbm_epochs, "train_time_s": seconds, "ais_time_s": ais_seconds,
            "log_z": log_z.log_z, "log_z_std": log_z.std, "test_log_probability": test,
            "test_log_probability_3sigma": band(test, log_z)}


def compare_classifiers(dbm, mnist, args, save_dir):
    """DBMClassifier from ``dbm`` against DBNClassifier of the same sizes, same fine-tuning,
    each fitted with ``--classifier-seeds`` seeds."""
    X, y = mnist.X_train[: args.train_size], mnist.y_train[: args.train_size]
    tuning = dict(solver="sgd", learning_rate=args.classifier_learning_rate,
                  learning_rate_decay=args.classifier_decay, momentum=0.9,
                  dropout=args.classifier_dropout, input_dropout=args.classifier_input_dropout,
                  n_iter=args.classifier_epochs, output_n_iter=1, batch_size=100,
                  device=args.device, precision=args.classifier_precision, verbose=args.verbose)
    models = {
        "dbm_classifier": (lambda seed: DBMClassifier(tuple(args.layers), random_state=seed,
                                                      **tuning), {"dbm": dbm}),
        "dbn_classifier": (lambda seed: DBNClassifier(
            tuple(args.layers), pretrain_n_iter=args.classifier_pretrain_epochs,
            pretrain_learning_rate=0.1, pretrain_momentum=(0.5, 0.9), pretrain_weight_decay=2e-4,
            random_state=seed, **tuning), {}),
    }
    seeds = [args.seed + i for i in range(args.classifier_seeds)]
    out = {"fine_tuning": {k: v for k, v in tuning.items() if k != "verbose"}, "seeds": seeds}
    net = "-".join(map(str, [784, *args.layers, 10]))
    for name, (make, fit_params) in models.items():
        runs = []
        for seed in seeds:
            clf, seconds = timed(make(seed).fit, X, y, **fit_params)
            error = float(np.mean(clf.predict(mnist.X_test) != mnist.y_test))
            if save_dir:
                clf.save(save_dir / f"{name}{'' if seed == seeds[0] else f'_seed{seed}'}.safetensors")
            print(f"{name} {net}, seed {seed}: test error {100 * error:.2f}% ({seconds / 60:.1f} min"
                  f"{'' if fit_params else ' with pretraining'})", flush=True)
            runs.append({"seed": seed, "test_error": error, "train_time_s": seconds,
                         "history": clf.history_})
        mean = float(np.mean([r["test_error"] for r in runs]))
        if len(runs) > 1:
            print(f"{name} {net}: mean test error {100 * mean:.2f}% over {len(runs)} seeds",
                  flush=True)
        out[name] = {"test_error": mean, "runs": runs}
    out["paper_test_error"] = PAPER["dbm_classifier_test_error"]
    return out


def main(argv=None):
    args = parse_args(argv)
    set_threads(args)
    mnist = load_mnist(args.data_home, verbose=args.verbose)
    rng = np.random.RandomState(args.binarize_seed)
    X = binarize(mnist.X_train, "stochastic", rng)[: args.train_size]
    X_test = binarize(mnist.X_test, "stochastic", rng)
    save_dir = Path(args.save_dir) if args.save_dir else None
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "dbm_mnist", "quick": args.quick, "train_size": len(X),
              "layers": [784, *args.layers], "paper": PAPER, "precision": args.precision}
    if args.load:
        dbm, seconds = load(args.load), None
        print(f"DBM {dbm.layer_sizes_} loaded from {args.load} ({dbm.n_iter_} joint epochs)")
    else:
        how = {"resampled": "grey images binarized per batch", "fixed": "binarized images",
               "grey": "grey images as they are"}[args.train_on]
        print(f"DBM 784-{args.layers[0]}-{args.layers[1]} on {len(X)} {how}: "
              f"pretraining {args.pretrain_epochs} epochs per RBM, joint {args.epochs} epochs",
              flush=True)
        grey = mnist.X_train[: args.train_size]
        dbm, seconds = train_dbm(X if args.train_on == "fixed" else grey, args, save_dir)
    pretrain_seconds = sum(sum(h["time"]) for h in dbm.pretrain_history_)
    result["dbm"] = {"model_file": args.load, "train_time_s": seconds,
                     "training_data": None if args.load else args.train_on,
                     "pretrain_time_s": pretrain_seconds, "joint_epochs": dbm.n_iter_,
                     "joint_time_s": sum(dbm.history_["time"]), "params": {
                         k: v for k, v in dbm.get_params().items() if k != "verbose"}}
    if not args.skip_likelihood:
        result["dbm"].update(evaluate_dbm(dbm, X, X_test, args))
    if args.rbm_epochs:
        result["rbm"] = compare_rbm(X, X_test, args, save_dir)
    if args.classifier:
        result["classifiers"] = compare_classifiers(dbm, mnist, args, save_dir)
    return write_result(args, result)


if __name__ == "__main__":
    main()
