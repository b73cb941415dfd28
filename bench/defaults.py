"""Out of the box: deepbelief's defaults against what it means to replace, measured in one run.

Each comparison fits a deepbelief model given only its sizes and ``random_state`` and, in the
same run, the reference it must match or beat (issue 9):

    digits-classifier   DBNClassifier((128, 128)) vs MLPClassifier((128, 128)), 8x8 digits
    digits-autoencoder  DeepAutoencoder([64, 128, 64, 2]): 5-NN on 2-D test codes vs PCA-2's
    mnist-classifier    DBNClassifier() vs MLPClassifier(), first 10,000 MNIST images
    mnist-autoencoder   DeepAutoencoder([784, 1000, 500, 250, 30]): test error vs PCA-30's
    mnist-rbm-logistic  RBM() + LogisticRegression() on 10,000 MNIST images, >= 95%
    sample-demo         what ``deepbelief demo`` shows on the shipped 5,000-digit sample
                        (3,000 train / 2,000 test): RBM + logistic regression vs raw pixels,
                        and both on the test digits nudged one pixel (needs no MNIST)

The digits are split 70/30 (``train_test_split(test_size=0.3, stratify=y, random_state=0)``);
MNIST is tested on its 10,000 test images. The digits and sample-demo runs need no MNIST and
take seconds; all six took 275 CPU seconds on one thread (the MNIST autoencoder most of it):

    DEEPBELIEF_DATA=/path/to/mnist python bench/defaults.py --threads 1
    python bench/defaults.py --only digits-classifier digits-autoencoder sample-demo

The deepbelief models get no settings but their sizes and ``random_state`` (``--quick`` cuts
every epoch count to 2, to check that the script runs); ``n_iter="auto"`` is in
``deepbelief._core.budget``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from _common import add_common_args, set_threads, write_result
from deepbelief import RBM, DBNClassifier, DeepAutoencoder
from deepbelief.datasets import load_digits, load_mnist
from deepbelief.datasets.augment import nudge
from deepbelief.datasets.sample import load_mnist_sample


def candidates(model, n_samples, quick=False):
    """Nothing: the comparisons measure the library's defaults. ``quick``: two epochs of
    everything, to check that the script runs."""
    if not quick:
        return {}
    if model == "rbm":
        return {"n_iter": 2}
    return {"n_iter": 2, "pretrain_n_iter": 2}


def digits_split():
    digits = load_digits()
    return train_test_split(digits.X, digits.y, test_size=0.3, stratify=digits.y, random_state=0)


def mnist_split(args):
    mnist = load_mnist(args.data_home, download=False, verbose=0)
    n = args.train_size
    return mnist.X_train[:n], mnist.X_test, mnist.y_train[:n], mnist.y_test


def timed(fit):
    """(model, wall seconds); on a busy machine compare the CPU seconds printed at the end."""
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def compare_classifiers(X_tr, X_te, y_tr, y_te, sizes, args):
    kwargs = {} if sizes is None else {"hidden_layer_sizes": sizes}
    settings = candidates("classifier", len(X_tr), args.quick)
    ours, t_ours = timed(lambda: DBNClassifier(
        **kwargs, random_state=args.seed, device=args.device, **settings).fit(X_tr, y_tr))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp, t_mlp = timed(lambda: MLPClassifier(**kwargs, random_state=args.seed).fit(X_tr, y_tr))
    return {"deepbelief": ours.score(X_te, y_te), "reference": mlp.score(X_te, y_te),
            "higher_is_better": True, "seconds": t_ours, "reference_seconds": t_mlp,
            "settings": settings}


def digits_classifier(args):
    return compare_classifiers(*digits_split(), (128, 128), args)


def mnist_classifier(args):
    return compare_classifiers(*mnist_split(args), None, args)


def digits_autoencoder(args):
    X_tr, X_te, y_tr, y_te = digits_split()

    def knn(codes_tr, codes_te):
        return KNeighborsClassifier(5).fit(codes_tr, y_tr).score(codes_te, y_te)

    settings = candidates("autoencoder", len(X_tr), args.quick)
    ae, seconds = timed(lambda: DeepAutoencoder(
        [64, 128, 64, 2], random_state=args.seed, device=args.device, **settings).fit(X_tr))
    pca = PCA(2, random_state=args.seed).fit(X_tr)
    return {"deepbelief": knn(ae.transform(X_tr), ae.transform(X_te)),
            "reference": knn(pca.transform(X_tr), pca.transform(X_te)),
            "higher_is_better": True, "seconds": seconds, "settings": settings}


def mnist_autoencoder(args):
    X_tr, X_te, _, _ = mnist_split(args)
    settings = candidates("autoencoder", len(X_tr), args.quick)
    ae, seconds = timed(lambda: DeepAutoencoder(
        [784, 1000, 500, 250, 30], random_state=args.seed, device=args.device, **settings
    ).fit(X_tr))
    pca = PCA(30, random_state=args.seed).fit(X_tr)
    pca_error = np.mean(np.sum((pca.inverse_transform(pca.transform(X_te)) - X_te) ** 2, axis=1,
                               dtype=np.float64))
    return {"deepbelief": ae.reconstruction_error(X_te), "reference": float(pca_error),
            "higher_is_better": False, "seconds": seconds, "settings": settings}


def mnist_rbm_logistic(args):
    X_tr, X_te, y_tr, y_te = mnist_split(args)
    settings = candidates("rbm", len(X_tr), args.quick)
    rbm, seconds = timed(lambda: RBM(random_state=args.seed, device=args.device,
                                     **settings).fit(X_tr))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        logistic = LogisticRegression().fit(rbm.transform(X_tr), y_tr)
        raw = LogisticRegression().fit(X_tr, y_tr).score(X_te, y_te)
    return {"deepbelief": logistic.score(rbm.transform(X_te), y_te), "reference": 0.95,
            "raw_pixels": raw, "higher_is_better": True, "seconds": seconds,
            "settings": settings}


# The demo's own settings (not defaults): clearly above raw pixels in seconds on 3,000 digits.
DEMO_RBM = {"n_components": 500, "learning_rate": 0.05, "batch_size": 50,
            "momentum": (0.5, 0.9), "n_iter": 10}


def sample_demo(args):
    sample = load_mnist_sample()
    X_tr, X_te, y_tr, y_te = train_test_split(sample.X, sample.y, test_size=2000,
                                              stratify=sample.y, random_state=0)
    X_nudged, y_nudged = nudge(X_te, y_te, sample.image_shape)
    settings = dict(DEMO_RBM, n_iter=2) if args.quick else DEMO_RBM
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe, seconds = timed(lambda: Pipeline([
            ("rbm", RBM(random_state=args.seed, device=args.device, **settings)),
            ("logistic", LogisticRegression(max_iter=1000)),
        ]).fit(X_tr, y_tr))
        raw = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    return {"deepbelief": pipe.score(X_te, y_te), "reference": raw.score(X_te, y_te),
            "nudged": pipe.score(X_nudged, y_nudged),
            "reference_nudged": raw.score(X_nudged, y_nudged),
            "higher_is_better": True, "seconds": seconds, "settings": settings}


COMPARISONS = {
    "digits-classifier": digits_classifier,
    "digits-autoencoder": digits_autoencoder,
    "mnist-classifier": mnist_classifier,
    "mnist-autoencoder": mnist_autoencoder,
    "mnist-rbm-logistic": mnist_rbm_logistic,
    "sample-demo": sample_demo,
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=list(COMPARISONS), default=list(COMPARISONS))
    add_common_args(p, pretrain=False)
    args = p.parse_args(argv)
    args.train_size = args.train_size or 10_000
    if args.quick:  # the script works end to end; the numbers mean nothing
        args.train_size = min(args.train_size, 2000)
    return args


def main(argv=None):
    args = parse_args(argv)
    set_threads(args)
    results = {}
    cpu = time.process_time()
    for name in args.only:
        r = COMPARISONS[name](args)
        better = r["deepbelief"] >= r["reference"] if r["higher_is_better"] \
            else r["deepbelief"] <= r["reference"]
        r["pass"] = bool(better)
        results[name] = r
        extra = f", raw pixels {r['raw_pixels']:.4f}" if "raw_pixels" in r else ""
        if "nudged" in r:
            extra = f"; nudged test: {r['nudged']:.4f} vs {r['reference_nudged']:.4f}"
        ref_time = f" / {r['reference_seconds']:.1f}s" if "reference_seconds" in r else ""
        print(f"{name}: deepbelief {r['deepbelief']:.4f} vs reference {r['reference']:.4f}"
              f"{extra} -> {'ok' if better else 'FAIL'} ({r['seconds']:.1f}s{ref_time}) "
              f"settings {r['settings']}", flush=True)
    print(f"total CPU time {time.process_time() - cpu:.0f}s (one thread: about the wall time "
          "on an idle core)")
    result = {"benchmark": "defaults", "quick": args.quick, "train_size": args.train_size,
              "seed": args.seed, "results": results}
    write_result(args, result)
    return result


if __name__ == "__main__":
    main()
