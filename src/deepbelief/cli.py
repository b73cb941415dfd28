"""The ``deepbelief`` command. Each subcommand parses flags, calls a public function, prints.

User mistakes (missing files, bad flags, bad data) print one line on stderr and exit non-zero.
"""

import argparse
import os
import sys

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus a message."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _momentum(text):
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or START,END, got {text!r}") from None
    if len(values) not in (1, 2) or not all(0 <= v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"momentum must be in [0, 1) (or START,END), got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _common(parser):
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where to compute; auto picks a CUDA GPU when present")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--data-home", default=None,
                        help="folder with the MNIST files (default: $DEEPBELIEF_DATA or the cache)")


def _add_train_rbm(sub):
    p = sub.add_parser("train-rbm", help="train an RBM and write a run folder",
                       description="Train an RBM; write the model, filter tiles, "
                       "reconstructions and metrics.json into --out.")
    p.add_argument("--data", default="mnist", help="mnist, digits or a labelled CSV file")
    p.add_argument("--n-components", type=_positive_int, default=500, help="hidden units")
    p.add_argument("--epochs", type=_positive_int, default=10, help="passes over the data")
    p.add_argument("--learning-rate", type=_positive_float, default=0.1)
    p.add_argument("--batch-size", type=_positive_int, default=100)
    p.add_argument("--momentum", type=_momentum, default=0.5, help="a number, or START,END ramp")
    p.add_argument("--method", choices=["cd", "pcd"], default="cd")
    p.add_argument("--k", type=_positive_int, default=1, help="Gibbs steps per update")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-samples", type=_positive_int, default=None,
                   help="train on the first N training images only")
    p.add_argument("--out", default="runs/rbm", help="run folder (default: runs/rbm)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    _common(p)
    p.set_defaults(run=_run_train_rbm)


def _run_train_rbm(args):
    from .runs import train_rbm

    m = train_rbm(
        args.data, args.out, n_components=args.n_components, epochs=args.epochs,
        learning_rate=args.learning_rate, batch_size=args.batch_size, momentum=args.momentum,
        method=args.method, k=args.k, weight_decay=args.weight_decay,
        max_samples=args.max_samples, seed=args.seed, device=args.device,
        verbose=0 if args.quiet else 1, resume=args.resume, overwrite=args.overwrite,
        data_home=args.data_home,
    )
    print(f"trained RBM({m['params']['n_components']}) on {m['n_train']} {m['data']} images "
          f"for {m['epochs_trained']} epochs in {m['train_seconds']:.1f}s")
    print(f"test reconstruction error (mean squared, per pixel): {m['test_reconstruction_error']:.4f}")
    print(f"model: {m['model']}")
    print(f"pictures: {m['pictures']['filters']}, {m['pictures']['reconstructions']}")
    print(f"metrics: {os.path.join(args.out, 'metrics.json')}")


def _add_demo(sub):
    p = sub.add_parser("demo", help="RBM + logistic regression on MNIST (or the embedded digits)",
                       description="Train a small RBM + logistic regression and compare it with "
                       "logistic regression on raw pixels. Needs no set-up.")
    p.add_argument("--data", default="auto", choices=["auto", "mnist", "digits"],
                   help="auto: MNIST when cached or downloadable, else the embedded digits")
    p.add_argument("--out", default="deepbelief-demo", help="folder for pictures and metrics")
    _common(p)
    p.set_defaults(run=_run_demo)


def _run_demo(args):
    from .runs import run_demo

    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    m = run_demo(args.out, data=args.data, seed=args.seed, device=args.device,
                 verbose=0 if args.quiet else 1, data_home=args.data_home, say=say)
    print(f"data: {m['data']} ({m['n_train']} training / {m['n_test']} test images)")
    print(f"RBM + logistic regression: test accuracy {m['rbm_logistic_accuracy']:.4f}")
    print(f"logistic regression on raw pixels: test accuracy {m['raw_pixels_logistic_accuracy']:.4f}")
    print(f"pictures: {m['pictures']['filters']}, {m['pictures']['reconstructions']}")


def build_parser():
    from . import __version__

    parser = _Parser(prog="deepbelief", description="Restricted Boltzmann Machines and Deep "
                     "Belief Networks: train, inspect and evaluate.")
    parser.add_argument("--version", action="version", version=f"deepbelief {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_train_rbm(sub)
    _add_demo(sub)
    return parser


def main(argv=None):
    """Entry point of ``deepbelief`` and ``python -m deepbelief``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("deepbelief: interrupted; an RBM run continues with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OSError, ValueError, TypeError, FloatingPointError, ImportError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"deepbelief {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    return 0
