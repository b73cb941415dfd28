"""``deepbelief --help`` as a new user reads it (issue 31, item 3): every default shown, every
command described, no flag a command ignores, no old names, the shell's words in errors, and
an answer without loading torch."""

import argparse
import subprocess
import sys
import textwrap

import pytest

from deepbelief import _cli_flags as flags
from deepbelief.cli import build_parser, main


def subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def help_of(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def option_blocks(text):
    """{option: its help text} from a --help page."""
    blocks, current = {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("  -"):
            current = stripped.split()[0].rstrip(",")
            blocks[current] = stripped
        elif current and line.startswith("    "):
            blocks[current] += " " + stripped
        else:
            current = None
    return {k: " ".join(v.split()) for k, v in blocks.items()}


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_help_shows_every_default_and_a_description(command, capsys):
    parser = subcommands()[command]
    text = help_of(command, capsys)
    assert parser.description and " ".join(parser.description.split())[:60] in " ".join(text.split())
    blocks = option_blocks(text)
    for action in parser._actions:
        default = action.default
        if not action.option_strings or default is None or default is False or default is argparse.SUPPRESS:
            continue
        block = blocks[action.option_strings[0]]
        assert "default" in block, (command, block)
        if not isinstance(default, bool):
            squeezed = block.replace(" ", "")  # argparse may wrap a value at a hyphen
            assert f"(default:{default})".replace(" ", "") in squeezed or "(default" in squeezed, block


def test_the_defaults_a_newcomer_asked_for_are_shown(capsys):
    sample = option_blocks(help_of("sample", capsys))
    assert "(default: 25)" in sample["--n-samples"] and "(default: 1000)" in sample["--burn-in"]
    assert "(default: 100)" in sample["--thin"] and "(default: samples.png)" in sample["--out"]
    assert "default: the run's own data" in option_blocks(help_of("evaluate", capsys))["--data"]
    assert "(default: mnist)" in option_blocks(help_of("train", capsys))["--data"]
    assert "(default: 1)" in option_blocks(help_of("reconstruct", capsys))["--steps"]


IMAGES = ("predict", "reconstruct")  # commands that take input files after the model


@pytest.mark.parametrize("command, ignored", [
    ("predict", ["--seed", "--quiet", "--data-home"]),
    ("reconstruct", ["--seed", "--quiet", "--data-home"]),
    ("sample", ["--quiet", "--steps"]),
    ("plot", ["--seed"]),
])
def test_commands_do_not_list_flags_they_ignore(command, ignored, capsys):
    text = help_of(command, capsys)
    for flag in ignored:
        assert f"{flag} " not in text and f"[{flag}" not in text, (command, flag)
        with pytest.raises(SystemExit) as stop:
            main([command, "model.safetensors", *(["x.png"] if command in IMAGES else []), flag, "1"])
        assert stop.value.code == flags.EXIT_USAGE
        assert f"unrecognized arguments: {flag} 1" in capsys.readouterr().err


def test_sample_has_no_old_name_for_burn_in(capsys):
    text = help_of("sample", capsys)
    assert "--steps" not in text and "old name" not in text


@pytest.mark.parametrize("argv", [["--help"], ["sample", "--help"], ["train", "--help"]])
def test_help_answers_without_importing_torch(argv):
    code = textwrap.dedent(f"""
        import sys
        from deepbelief.cli import main
        try:
            main({argv!r})
        except SystemExit:
            pass
        heavy = [m for m in ("torch", "numpy", "sklearn", "matplotlib") if m in sys.modules]
        print("HEAVY", heavy, file=sys.stderr)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr, result.stderr


def test_library_advice_is_reworded_for_the_shell():
    said = ("x.png: image is 20x20 (rows x columns) but shape=(8, 8) expects 8x8; pass resize=True "
            "or resize the file")
    args = argparse.Namespace(resize=False)
    assert flags.for_the_shell(said, args) == ("x.png: image is 20x20 (rows x columns) but the "
                                               "model expects 8x8; pass --resize or resize the file")
    assert flags.for_the_shell(said, argparse.Namespace()) == said  # no --resize to point at


def test_next_command_sets_the_data():
    assert flags.next_command(["train", "--data", "mnist", "--out", "r"]) == \
        "deepbelief train --data mnist-sample --out r"
    assert flags.next_command(["evaluate", "my run"]) == "deepbelief evaluate 'my run' --data mnist-sample"
    assert flags.next_command(["plot", "m", "--data=mnist"]) == "deepbelief plot m --data=mnist-sample"
