"""The command line's flag values: argparse types that reject bad values in one line, the flags
every subcommand shares, the parsing of ``--layers`` and ``--set``, and library error messages
reworded for the shell (``--resize``, not ``resize=True``).

Nothing here imports torch or NumPy: ``deepbelief --help`` answers at once.
"""

import argparse
import re
import shlex

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for cat or grep cut off by | head


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless it is None, off, or already in the text."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default is argparse.SUPPRESS
                or not action.option_strings or "default" in text or "%(default)" in text):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus a message, and shows
    defaults in ``--help``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

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


def add_common(parser, seed=True, quiet=True, data_home=True):
    """The flags most subcommands share; a subcommand that would ignore one leaves it out."""
    if seed:
        parser.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto, cpu, cuda or cuda:N; auto picks a CUDA GPU when present")
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads torch may use (default: torch's choice, all cores); "
                        "use 1 when several jobs share the cores")
    if data_home:
        parser.add_argument("--data-home", default=None,
                            help="folder with the MNIST files (default: $DEEPBELIEF_DATA or the cache)")


# Library advice that names a Python parameter, as the shell user types it: (pattern, the words
# for the shell, the argparse dest that must exist on the subcommand for the words to apply).
SHELL_WORDS = [
    (r"pass resize=True", "pass --resize", "resize"),
    (r"shape=\(\d+, \d+\) expects", "the model expects", "resize"),
]


def for_the_shell(message, args):
    """``message`` with the library's parameter names replaced by this subcommand's flags."""
    for pattern, words, dest in SHELL_WORDS:
        if hasattr(args, dest):
            message = re.sub(pattern, words, message)
    return message


def next_command(argv, data="mnist-sample"):
    """The command the user typed, with ``--data`` set to ``data``: what to try next."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--data" and i + 1 < len(argv):
            argv[i + 1] = data
            break
        if arg.startswith("--data="):
            argv[i] = f"--data={data}"
            break
    else:
        argv += ["--data", data]
    return shlex.join(["deepbelief", *argv])


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
