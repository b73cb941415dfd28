"""The command line's flag values (deepbelief._cli_flags): what each accepts, and the one-line
message for what it rejects. ``test_cli.py`` checks the same through ``main``."""

import argparse
import re

import pytest

from deepbelief import _cli_flags as flags


@pytest.mark.parametrize("text, value", [("0.5", 0.5), ("0", 0.0), ("0.5,0.9", (0.5, 0.9))])
def test_momentum_takes_a_number_or_a_ramp(text, value):
    assert flags.momentum(text) == value


@pytest.mark.parametrize("text, message", [
    ("fast", "expected a number or START,END, got 'fast'"),
    ("1", "momentum must be in [0, 1)"),
    ("0.5,0.9,0.99", "momentum must be in [0, 1) (or START,END)"),
    ("-0.1", "momentum must be in [0, 1)"),
])
def test_momentum_rejects(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        flags.momentum(text)


def test_positive_numbers():
    assert flags.positive_int("3") == 3 and flags.positive_float("0.25") == 0.25
    for bad, message in [("0", "expected a number >= 1, got 0"), ("2.5", "expected a whole number")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            flags.positive_int(bad)
    for bad, message in [("0", "expected a number > 0"), ("nan", "expected a number > 0"),
                         ("x", "expected a number, got 'x'")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            flags.positive_float(bad)


def test_device_name():
    assert [flags.device_name(d) for d in ("auto", "cpu", "cuda:1")] == ["auto", "cpu", "cuda:1"]
    with pytest.raises(argparse.ArgumentTypeError, match="expected auto, cpu, cuda or cuda:N"):
        flags.device_name("gpu")


def test_layers_and_settings():
    assert flags.layers("784,500, 30,") == (784, 500, 30)
    with pytest.raises(ValueError, match="comma-separated whole numbers, got '10,x'"):
        flags.layers("10,x")
    assert flags.settings(["dropout=0.25", "solver=sgd", "pretrain=false", "sizes=[1, 2]",
                           "name = a=b"]) == {"dropout": 0.25, "solver": "sgd", "pretrain": False,
                                              "sizes": [1, 2], "name": " a=b"}
    for bad in ("dropout", "=3"):
        with pytest.raises(ValueError, match="--set expects NAME=VALUE"):
            flags.settings([bad])


def test_parser_reports_a_bad_flag_in_one_line(capsys):
    parser = flags.Parser(prog="deepbelief")
    flags.add_common(parser)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--threads", "0"])
    assert stop.value.code == flags.EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --threads: expected a number >= 1, got 0 (see --help)" in err
    assert vars(parser.parse_args([])) == {"seed": None, "device": "auto", "quiet": False,
                                           "threads": None, "data_home": None}
