"""The command line's flag values: argparse types that reject bad values in one line, the flags
every subcommand shares, and the parsing of ``--layers`` and ``--set``."""

import argparse

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus a message."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def momentum(text):
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or START,END, got {text!r}") from None
    if len(values) not in (1, 2) or not all(0 <= v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"momentum must be in [0, 1) (or START,END), got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def device_name(text):
    from ._core.backend import is_device

    if not is_device(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text


def add_common(parser):
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto, cpu, cuda or cuda:N; auto picks a CUDA GPU when present")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads torch may use (default: torch's choice, all cores); "
                        "use 1 when several jobs share the cores")
    parser.add_argument("--data-home", default=None,
                        help="folder with the MNIST files (default: $DEEPBELIEF_DATA or the cache)")


def layers(text):
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--layers expects comma-separated whole numbers, got {text!r}") from None


def settings(items):
    """``--set NAME=VALUE`` items as a dict; values are read as JSON when they parse."""
    import json

    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            params[name.strip()] = json.loads(value)
        except ValueError:
            params[name.strip()] = value
    return params
