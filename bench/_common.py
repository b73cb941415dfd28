"""What the benchmark scripts share: the common flags, thread setup and writing the result."""

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
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16", "auto"],
                        help="the dtype of the products of training (the models' precision=)")
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


def write_result(args, result):
    """Stamp the result with the date and load and write it to ``--out``."""
    result.setdefault("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    result.setdefault("load_average_1min_at_end", round(os.getloadavg()[0], 2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result
