"""The ``deepbelief`` command. Each subcommand parses flags, calls a public function, prints.

User mistakes (missing files, bad flags, bad data, sizes that cannot fit in memory) print one
line on stderr and exit non-zero.
"""

import os
import sys

from . import _cli_flags as flags
from ._cli_flags import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE


def _seed(args):
    return 0 if args.seed is None else args.seed


def _number(value):
    """A number as a person reads it: floats to 4 significant digits, ints whole."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _device(args):
    """None keeps the device saved in the model file; a flag other than auto overrides it."""
    return None if args.device == "auto" else args.device


def _add_train_rbm(sub):
    p = sub.add_parser("train-rbm", help="train an RBM and write a run folder",
                       description="Train an RBM; write the model, filter tiles, "
                       "reconstructions and metrics.json into --out.")
    p.add_argument("--data", default="mnist", help="mnist, mnist-sample, digits or a labelled CSV file")
    p.add_argument("--n-components", type=flags.positive_int, default=500, help="hidden units")
    p.add_argument("--epochs", type=flags.positive_int, default=10, help="passes over the data")
    p.add_argument("--learning-rate", type=flags.positive_float, default=0.1, help="step size")
    p.add_argument("--batch-size", type=flags.positive_int, default=100, help="images per update")
    p.add_argument("--momentum", type=flags.momentum, default=0.5, help="a number, or START,END ramp")
    p.add_argument("--method", choices=["cd", "pcd"], default="cd",
                   help="contrastive divergence, or persistent CD")
    p.add_argument("--k", type=flags.positive_int, default=1, help="Gibbs steps per update")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the weights")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16", "int8"], default="auto",
                   help="dtype of the training products (default auto: bfloat16 where it is "
                   "faster, i.e. large models on CPUs with AVX-512 BF16 or AMX; else float32; "
                   "int8: faster still, see the README)")
    p.add_argument("--max-samples", type=flags.positive_int, default=None,
                   help="train on the first N training images only")
    p.add_argument("--out", default="runs/rbm", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (files deepbelief did not write there are kept)")
    flags.add_common(p)
    p.set_defaults(run=_run_train_rbm)


def _run_train_rbm(args):
    from .runs.train import merge_config, train_model

    params = {"n_components": args.n_components, "n_iter": args.epochs,
              "learning_rate": args.learning_rate, "batch_size": args.batch_size,
              "momentum": args.momentum, "method": args.method, "k": args.k,
              "weight_decay": args.weight_decay, "precision": args.precision}
    config = merge_config(model="rbm", data=args.data, data_home=args.data_home,
                          max_samples=args.max_samples, seed=_seed(args), device=args.device,
                          params=params)
    m = train_model(config, args.out, overwrite=args.overwrite, resume=args.resume, report=False,
                    verbose=0 if args.quiet else 1)
    if m is None:  # a rank other than 0 of a data-parallel run (torchrun): rank 0 reports
        return
    print(f"trained RBM({m['params']['n_components']}) on {m['n_train']} {m['data']} images "
          f"for {m['epochs_trained']} epochs in {m['train_seconds']:.1f}s")
    print("test reconstruction error (mean squared, per pixel): "
          f"{m['test_reconstruction_error_per_pixel']:.4f}")
    print(f"model: {m['model_file']}")
    print(f"pictures: {m['pictures']['filters']}, {m['pictures']['reconstructions']}")
    print(f"metrics: {os.path.join(args.out, 'metrics.json')}")


def _add_demo(sub):
    p = sub.add_parser("demo", help="RBM + logistic regression on MNIST (or the shipped sample)",
                       description="Train an RBM + logistic regression and compare it with "
                       "logistic regression on raw pixels, on test digits and on the same "
                       "digits nudged by one pixel. Needs no set-up.")
    p.add_argument("--data", default="auto", choices=["auto", "mnist", "mnist-sample", "digits"],
                   help="auto: MNIST when cached or downloadable, else the 5,000 MNIST digits "
                   "that ship with deepbelief")
    p.add_argument("--out", default="deepbelief-demo", help="folder for pictures and metrics")
    flags.add_common(p)
    p.set_defaults(run=_run_demo)


def _run_demo(args):
    from .runs.demo import run_demo

    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    m = run_demo(args.out, data=args.data, seed=_seed(args), device=args.device,
                 verbose=0 if args.quiet else 1, data_home=args.data_home, say=say)
    print(f"data: {m['data']} ({m['n_train']} training / {m['n_test']} test images)")
    print(f"RBM + logistic regression: test accuracy {m['rbm_logistic_accuracy']:.4f}")
    print(f"logistic regression on raw pixels: test accuracy {m['raw_pixels_logistic_accuracy']:.4f}")
    print(f"test digits nudged one pixel (4x as many): RBM + logistic regression "
          f"{m['rbm_logistic_nudged_accuracy']:.4f}, raw pixels {m['raw_pixels_logistic_nudged_accuracy']:.4f}")
    print(f"pictures: {m['pictures']['filters']}, {m['pictures']['reconstructions']}")


def _add_train(sub):
    p = sub.add_parser("train", help="train an RBM, DBN, DBM, classifier or autoencoder into a run folder",
                       description="Train any model from flags and/or a TOML (or JSON) config; "
                       "write the model, metrics.json, config.json, training.log, pictures and "
                       "report.html into --out.")
    p.add_argument("--config", default=None, help="TOML or JSON file (flags override it)")
    p.add_argument("--model", choices=["rbm", "dbn", "dbm", "classifier", "dbm-classifier", "autoencoder"],
                   default=None, help="dbm: a Deep Boltzmann Machine; dbm-classifier: a net it "
                   "initialises (default: rbm)")
    p.add_argument("--data", default=None, help="mnist, mnist-sample (ships with deepbelief, "
                   "no download), digits or a labelled CSV file (default: mnist)")
    p.add_argument("--layers", default=None,
                   help="comma-separated sizes: hidden layers (classifier, dbm-classifier) or the "
                   "whole stack (dbn, dbm, autoencoder), e.g. 784,500,500")
    p.add_argument("--epochs", type=flags.positive_int, default=None, help="n_iter of any model")
    p.add_argument("--learning-rate", type=flags.positive_float, default=None)
    p.add_argument("--batch-size", type=flags.positive_int, default=None)
    p.add_argument("--max-samples", type=flags.positive_int, default=None)
    p.add_argument("--log-likelihood", action="store_true",
                   help="rbm, dbn, dbm: add the test log-likelihood by AIS to the metrics and report")
    p.add_argument("--precision", choices=["float32", "bfloat16", "auto", "int8"], default=None,
                   help="dtype of the training products (default: the model's, auto: bfloat16 "
                   "where it is faster; int8: rbm and dbn only)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any estimator parameter, e.g. --set dropout=0.25 (repeatable)")
    p.add_argument("--out", default="runs/train", help="run folder")
    p.add_argument("--resume", action="store_true",
                   help="rbm: continue an interrupted run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (files deepbelief did not write there are kept)")
    flags.add_common(p)
    p.set_defaults(run=_run_train)


def _run_train(args):
    from .runs.train import merge_config, read_config, train_model

    given = {"n_iter": args.epochs, "learning_rate": args.learning_rate,
             "batch_size": args.batch_size, "precision": args.precision}
    params = {k: v for k, v in given.items() if v is not None}
    params.update(flags.settings(args.set))
    config = merge_config(read_config(args.config) if args.config else None, model=args.model,
                          log_likelihood=True if args.log_likelihood else None,
                          data=args.data, data_home=args.data_home, max_samples=args.max_samples,
                          seed=args.seed, device=args.device,
                          layers=flags.layers(args.layers) if args.layers else None, params=params)
    m = train_model(config, args.out, overwrite=args.overwrite, resume=args.resume,
                    verbose=0 if args.quiet else 1)
    if m is None:  # a rank other than 0 of a data-parallel run (torchrun): rank 0 reports
        return
    shown = {k: v for k, v in m.items() if isinstance(v, (int, float, str))}
    for key, value in shown.items():
        print(f"{key}: {_number(value)}")
    print(f"run folder: {args.out} (report: {os.path.join(args.out, 'report.html')})")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="accuracy, confusion matrix, or log-likelihood by AIS",
                       description="Evaluate a classifier on test data (accuracy, classification "
                       "report, confusion matrix), and/or any RBM, DBN or DBM by its test "
                       "log-likelihood (--log-likelihood).")
    p.add_argument("model", help="a model file written by deepbelief, or a run folder")
    p.add_argument("--data", default=None, help="mnist, mnist-sample, digits or a labelled CSV file "
                   "(default: the run's own data when MODEL is in a run folder, else mnist)")
    p.add_argument("--nudge", action="store_true",
                   help="also test on the test set shifted one pixel up, down, left and right")
    p.add_argument("--out", default=None, help="folder for evaluation.json and confusion PNGs")
    p.add_argument("--log-likelihood", action="store_true",
                   help="test log-likelihood per image by annealed importance sampling (RBM: an "
                   "estimate; DBN, DBM or a pretrained classifier: a lower bound)")
    p.add_argument("--betas", type=flags.positive_int, default=None,
                   help="AIS intermediate distributions (default: the standard 14,501)")
    p.add_argument("--runs", type=flags.positive_int, default=100, help="AIS runs")
    p.add_argument("--binarize", choices=["sample", "threshold"], default="sample",
                   help="how grey test pixels become 0/1 for Bernoulli models")
    p.add_argument("--max-samples", type=flags.positive_int, default=None, help="the first N test images")
    flags.add_common(p)
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args):
    from .runs.jobs import evaluate, log_likelihood

    verbose = 0 if args.quiet else 1
    if args.log_likelihood:
        r = log_likelihood(args.model, args.data, binarize=args.binarize, n_betas=args.betas,
                           n_runs=args.runs, max_samples=args.max_samples, seed=_seed(args),
                           data_home=args.data_home, verbose=verbose, device=_device(args))
        print(f"test log-likelihood ({r['kind']}): {r['log_likelihood']:.2f} nats per image "
              f"on {r['n']} images")
        if r["n_betas"] == 0:  # small enough to sum exactly (a DBM)
            print(f"log Z {r['log_z']:.2f} (exact: summed over every state)")
        else:
            print(f"log Z {r['log_z']:.2f} (3 sigma: {r['log_z_low']:.2f} to {r['log_z_high']:.2f}; "
                  f"{r['n_betas']} betas, {r['n_runs']} runs)")
        return
    r = evaluate(args.model, args.data, out_dir=args.out, nudged=args.nudge,
                 data_home=args.data_home, verbose=verbose, device=_device(args))
    for name in ("test", "nudged test"):
        if name in r:
            print(f"{name}: accuracy {r[name]['accuracy']:.4f} on {r[name]['n']} images")
            print(r[name]["report"])
    if args.out:
        print(f"written: {os.path.join(args.out, 'evaluation.json')}")


def _add_predict(sub):
    p = sub.add_parser("predict", help="labels for a CSV (Kaggle submission) or image files",
                       description="Print the label a classifier gives each row of a CSV file "
                       "(the Kaggle test format) or each image file, or write them as a CSV.")
    p.add_argument("model", help="a classifier model file, or a run folder")
    p.add_argument("inputs", nargs="+", help="one CSV file, or image files (PNG/JPEG)")
    p.add_argument("--out", default=None, help="write the labels here as CSV (e.g. submission.csv)")
    p.add_argument("--resize", action="store_true", help="scale images of another size to the model's")
    flags.add_common(p, seed=False, quiet=False, data_home=False)
    p.set_defaults(run=_run_predict)


def _run_predict(args):
    from .runs.jobs import predict

    rows = predict(args.model, args.inputs, out_path=args.out, resize=args.resize, device=_device(args))
    if args.out:
        print(f"wrote {len(rows)} labels to {args.out}")
    else:
        for name, label in rows:
            print(f"{name},{label}")


def _add_sample(sub):
    p = sub.add_parser("sample", help="digits generated by Gibbs chains (a grid PNG), scored",
                       description="Run Gibbs chains of a generative model, draw the samples as "
                       "a grid PNG (and the chains over time as a GIF), and score 28x28 digits "
                       "with a classifier that ships with deepbelief.")
    p.add_argument("model", help="an RBM, DBN, DBM or pretrained classifier model file, or a run folder")
    p.add_argument("--n-samples", type=flags.positive_int, default=25, help="number of chains")
    p.add_argument("--burn-in", type=flags.positive_int, default=1000,
                   help="Gibbs steps before the first sample")
    p.add_argument("--thin", type=flags.positive_int, default=100,
                   help="Gibbs steps between two samples of a chain")
    p.add_argument("--samples-per-chain", type=flags.positive_int, default=1,
                   help="samples kept per chain (a row of the grid per chain)")
    p.add_argument("--init", choices=["auto", "persistent", "biases", "noise", "data"],
                   default="auto", help="where the chains start (default auto: the persistent "
                   "chains of a PCD model, else noise); data: the first test images of --data")
    p.add_argument("--data", default=None,
                   help="with --init data: mnist, mnist-sample, digits or a CSV file (default: the "
                   "run's own data when MODEL is in a run folder, else mnist-sample)")
    p.add_argument("--out", default="samples.png", help="PNG to write")
    p.add_argument("--chain", default=None, help="also write the chains over time as this GIF")
    flags.add_common(p, quiet=False)
    p.set_defaults(run=_run_sample)


def _run_sample(args):
    from .runs.jobs import sample

    result = sample(args.model, args.out, n_samples=args.n_samples, burn_in=args.burn_in,
                    thin=args.thin, samples_per_chain=args.samples_per_chain, init=args.init,
                    data=args.data, data_home=args.data_home, chain_path=args.chain,
                    device=_device(args), seed=args.seed)
    for path in result["written"]:
        print(f"written: {path}")
    print(f"samples: {result['caption']}")
    if result["quality"] is not None:
        print(f"sample quality (shipped MNIST classifier): {_quality(result['quality'])}")


def _plural(n, word, plural=None):
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _quality(q):
    """A ``SampleQuality`` in words: how many samples are confident digits, of which classes."""
    n_confident = round(q.confident_fraction * q.n_samples)
    present = [f"digit {digit}: {n}" for digit, n in enumerate(q.class_counts) if n >= q.min_count]
    line = (f"{n_confident} of {_plural(q.n_samples, 'sample')} are confident digits (top digit "
            f"probability >= {q.threshold:g}), of {_plural(q.n_classes, 'class', 'classes')}")
    if present:
        line += f" ({', '.join(present)})"
    if q.min_count > 1:
        line += f", a class counting from {q.min_count} confident samples"
    return line + (f"; mean confidence {q.mean_confidence:.3f}, inception score "
                   f"{q.inception_score:.2f}")


def _add_reconstruct(sub):
    p = sub.add_parser("reconstruct", help="damaged or noisy digit images and their reconstructions",
                       description="Pass digit images through a model and back (up-down passes, "
                       "or mean field for a DBM) and draw each beside its reconstruction in a PNG.")
    p.add_argument("model", help="an RBM, DBN, DBM, classifier or autoencoder model file, or a run folder")
    p.add_argument("images", nargs="+", help="PNG/JPEG digit images")
    p.add_argument("--steps", type=flags.positive_int, default=1, help="up-down passes")
    p.add_argument("--out", default="reconstruction.png", help="PNG to write")
    p.add_argument("--resize", action="store_true", help="scale images of another size to the model's")
    flags.add_common(p, seed=False, quiet=False, data_home=False)
    p.set_defaults(run=_run_reconstruct)


def _run_reconstruct(args):
    from .runs.jobs import reconstruct

    path = reconstruct(args.model, args.images, args.out, n_steps=args.steps, resize=args.resize,
                       device=_device(args))
    print(f"written: {path}")


def _add_plot(sub):
    p = sub.add_parser("plot", help="filters, reconstructions, probes, curves, code maps",
                       description="Draw every picture of a model (filters, training curves and, "
                       "with test data, reconstructions, probes and code maps) as PNGs in --out.")
    p.add_argument("model", help="a model file written by deepbelief, or a run folder")
    p.add_argument("--data", default=None, help="test data for reconstructions etc.: mnist, "
                   "mnist-sample, digits or a CSV file (default: the run's own data when MODEL "
                   "is in a run folder, else none)")
    p.add_argument("--out", default="plots", help="folder for the PNGs")
    flags.add_common(p, seed=False)
    p.set_defaults(run=_run_plot)


def _run_plot(args):
    from .runs.jobs import plot, run_data

    data, home = (args.data, None) if args.data else run_data(args.model)
    for caption, path in plot(args.model, args.out, data=data, data_home=args.data_home or home,
                              verbose=0 if args.quiet else 1, device=_device(args)):
        print(f"{path}: {caption}")


def _add_experiment(sub):
    p = sub.add_parser("experiment", help="re-run a seed experiment end to end, its numbers beside ours",
                       description="Experiments: rbm-logistic, dbn-classifier, autoencoder-2d, "
                       "rbm-anatomy. Without --quick or --smoke each runs at the seed's scale.")
    p.add_argument("name", help="rbm-logistic, dbn-classifier, autoencoder-2d or rbm-anatomy")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_const", const="quick", dest="scale",
                       help="a few minutes on a laptop CPU")
    scale.add_argument("--smoke", action="store_const", const="smoke", dest="scale",
                       help="seconds; a check that everything runs")
    p.add_argument("--search", action="store_true", help="rbm-logistic: run the grid search")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --search: run its fits on the Dask scheduler at ADDRESS "
                   "(tcp://host:8786), or 'local' for a Dask cluster on this machine's cores "
                   "(needs pip install 'deepbelief[dask]')")
    p.add_argument("--out", default=None, help="run folder (default: runs/NAME)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (files deepbelief did not write there are kept)")
    flags.add_common(p)
    p.set_defaults(run=_run_experiment, scale="full")


def _run_experiment(args):
    from .experiments import run_experiment

    out = args.out or os.path.join("runs", args.name)
    say = lambda line: print(line, flush=True)  # noqa: E731
    run_experiment(args.name, out, scale=args.scale, search=args.search, seed=_seed(args),
                   device=args.device, verbose=0 if args.quiet else 1, data_home=args.data_home,
                   say=say, overwrite=args.overwrite, scheduler=args.scheduler)
    print(f"run folder: {out} (report: {os.path.join(out, 'report.html')})")


def build_parser():
    from ._version import __version__

    parser = flags.Parser(prog="deepbelief", description="Restricted Boltzmann Machines and Deep "
                     "Belief Networks: train, inspect and evaluate.")
    parser.add_argument("--version", action="version", version=f"deepbelief {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=flags.Parser)
    for add in (_add_demo, _add_train_rbm, _add_train, _add_evaluate, _add_predict, _add_sample,
                _add_reconstruct, _add_plot, _add_experiment):
        add(sub)
    return parser


def main(argv=None):
    """Entry point of ``deepbelief`` and ``python -m deepbelief``; returns the exit code."""
    try:
        try:
            code = _main(sys.argv[1:] if argv is None else list(argv))
        finally:  # --help exits through here too
            sys.stdout.flush()  # a reader that left early (| head) shows here, not at exit
    except BrokenPipeError:
        # The reader of our output has gone: stop quietly, as cat and grep do.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (captured)
            pass
        return EXIT_BROKEN_PIPE
    return code


def _error_line(exc, args, argv):
    """A user's mistake in one line, in the shell's words (``--resize``, not ``resize=True``)."""
    mnist = sys.modules.get("deepbelief.datasets.mnist")
    if mnist is not None and isinstance(exc, mnist.DownloadError):
        message = exc.summary
        if hasattr(args, "data"):
            message += f" Or try the MNIST sample that ships with deepbelief: {flags.next_command(argv)}"
        return message
    message = " ".join(str(exc).split()) or type(exc).__name__
    return flags.for_the_shell(message, args)


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        from ._core.threads import limit_threads

        with limit_threads(getattr(args, "threads", None)):
            args.run(args)
    except KeyboardInterrupt:
        print("deepbelief: interrupted; an RBM run continues with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except (OSError, ValueError, TypeError, FloatingPointError, ImportError, MemoryError) as exc:
        print(f"deepbelief {args.command}: error: {_error_line(exc, args, argv)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug, not a user mistake: still one line, unless debugging
        if os.environ.get("DEEPBELIEF_DEBUG"):
            raise
        message = " ".join(str(exc).split())
        print(f"deepbelief {args.command}: unexpected error ({type(exc).__name__}: {message}); "
              "set DEEPBELIEF_DEBUG=1 for the traceback and please report it", file=sys.stderr)
        return EXIT_ERROR
    return 0
