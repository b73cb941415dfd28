"""Seed 000's grid search on a local Dask cluster against joblib's default backend.

The search ``deepbelief experiment rbm-logistic --search`` runs (a 5,000-image MNIST sample,
3,000 of them searched; raw-pixel logistic regression over 4 settings, then MinMaxScaler +
RBM + logistic regression over 81 settings, 3 folds each), with the same pipelines and
seeds, three ways on the same cores:

- ``joblib``: ``GridSearchCV(n_jobs=N)`` on joblib's default backend (loky worker processes,
  which joblib starts with ``OMP_NUM_THREADS = cores // N``);
- ``dask``: a Dask ``LocalCluster`` of N single-threaded worker processes on 127.0.0.1, via
  ``deepbelief.runs.cluster.search_backend("local")`` (what ``--scheduler local`` does); its
  start-up is timed apart;
- ``serial`` (only when asked): ``n_jobs=1`` in this process, as the experiment runs without
  ``--scheduler``.

Prints the wall time of each and whether every cross-validated score is identical.

    python bench/dask_search.py [--quick] [--n-images 5000] [--modes joblib,dask] [--out r.json]
"""

import argparse
import time
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from _common import write_result
from deepbelief.datasets import load_mnist
from deepbelief.experiments._common import pooled_sample
from deepbelief.experiments.rbm_logistic import SETTINGS, _pipelines
from deepbelief.runs.cluster import local_cores, search_backend

QUICK_GRID = {"logistic__C": [1.0, 100.0], "rbm__learning_rate": [0.1, 0.01],
              "rbm__n_iter": [5], "rbm__n_components": [50, 100]}
QUICK_GRID_RAW = {"logistic__C": [0.1, 1.0]}


def search_data(args):
    """The experiment's training split: ``n_images`` pooled MNIST digits, 60% of them."""
    data = load_mnist(data_home=args.data_home, verbose=0)
    X, y = pooled_sample(data, args.n_images, np.random.RandomState(args.seed))
    X_tr, _, y_tr, _ = train_test_split(X, y, test_size=0.4, random_state=args.seed)
    return X_tr, y_tr


def searches(args):
    """(name, pipeline, grid) of the raw-pixel and the RBM searches, as the experiment has them."""
    s = SETTINGS["full"]
    ctx = SimpleNamespace(seed=args.seed, device=args.device, verbose=0)
    raw, pipe = _pipelines(s, ctx)
    if args.quick:
        return [("raw", raw, QUICK_GRID_RAW), ("rbm", pipe, QUICK_GRID)]
    return [("raw", raw, s.grid_raw), ("rbm", pipe, s.grid)]


def run_searches(args, X, y, n_jobs):
    results, start = {}, time.perf_counter()
    for name, model, grid in searches(args):
        t = time.perf_counter()
        search = GridSearchCV(clone(model), grid, cv=args.cv, n_jobs=n_jobs).fit(X, y)
        results[name] = {"seconds": round(time.perf_counter() - t, 2),
                         "best_params": search.best_params_,
                         "scores": {k: v.tolist() for k, v in search.cv_results_.items()
                                    if k.startswith("split") or k == "mean_test_score"}}
        if args.verbose:
            print(f"  {name}: {results[name]['seconds']:.1f} s, best {search.best_params_}",
                  flush=True)
    return round(time.perf_counter() - start, 2), results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 raw settings and 8 of small RBMs: a check that the script works")
    parser.add_argument("--n-images", type=int, default=None,
                        help="the MNIST sample, 60%% of it searched (default 5000; quick 1000)")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for joblib and Dask (default: this machine's cores)")
    parser.add_argument("--modes", default="joblib,dask",
                        help="comma-separated, in order: joblib, dask, serial")
    parser.add_argument("--data-home", default=None,
                        help="MNIST directory (default: $DEEPBELIEF_DATA)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the result as JSON to this file")
    args = parser.parse_args(argv)
    args.n_images = args.n_images or (1000 if args.quick else 5000)
    workers = args.workers or local_cores()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"joblib", "dask", "serial"}
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from joblib, dask, serial")

    X, y = search_data(args)
    result = {"benchmark": "dask_search", "quick": args.quick, "n_images": args.n_images,
              "n_searched": len(X), "cv": args.cv, "workers": workers, "modes": {}}
    warnings.simplefilter("ignore", ConvergenceWarning)
    for mode in modes:
        if args.verbose:
            print(f"{mode}:", flush=True)
        if mode == "dask":
            t = time.perf_counter()
            with search_backend("local", n_workers=workers) as backend:
                startup = round(time.perf_counter() - t, 2)
                seconds, runs = run_searches(args, X, y, backend.n_jobs)
            result["modes"][mode] = {"seconds": seconds, "startup_seconds": startup, **runs}
        else:
            seconds, runs = run_searches(args, X, y, 1 if mode == "serial" else workers)
            result["modes"][mode] = {"seconds": seconds, **runs}
        if args.verbose:
            print(f"  {mode}: {seconds:.1f} s", flush=True)

    first = result["modes"][modes[0]]
    result["identical"] = {
        mode: all(result["modes"][mode][k]["scores"] == first[k]["scores"]
                  and result["modes"][mode][k]["best_params"] == first[k]["best_params"]
                  for k in ("raw", "rbm"))
        for mode in modes[1:]}
    if args.verbose:
        print(f"{len(X)} images searched, {workers} workers: "
              + ", ".join(f"{m} {result['modes'][m]['seconds']:.1f} s" for m in modes)
              + f"; identical scores to {modes[0]}: {result['identical']}")
    return write_result(args, result)


if __name__ == "__main__":
    main()
