"""What every experiment shares: its run context, the data, the seed-versus-ours table, the report.

An experiment is a function ``run(ctx) -> metrics``. It reads its settings from ``ctx`` (scale,
seed, device, ...), draws pictures into ``ctx.out`` through :meth:`Run.picture`, prints through
:meth:`Run.say` and returns a JSON-able dict. :func:`finish` then writes ``metrics.json`` and
``report.html`` beside the pictures.
"""

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._core.files import write_json
from ..datasets import load_dataset
from ..runs.report import write_report

#: The sizes an experiment runs at: "smoke" (seconds), "quick" (minutes), "full" (the seed's).
SCALES = ("smoke", "quick", "full")


@dataclass
class Run:
    """One experiment run: its settings, and what it has written and said so far."""

    name: str
    out: Path  # the (staging) folder pictures go into
    scale: str = "quick"
    search: bool = False
    scheduler: object = None  # searches: None (this process), "local" or a Dask scheduler address
    seed: int = 0
    device: str = "auto"
    verbose: int = 1
    data_home: object = None
    print_fn: object = print  # the caller's ``say``
    config: dict = field(default_factory=dict)  # shown in the report
    pictures: list = field(default_factory=list)  # (caption, file name)
    comparison: list = field(default_factory=list)  # rows of the seed-versus-ours table
    log: list = field(default_factory=list)  # everything said, for the report

    def say(self, message=""):
        """Print through the caller's ``say`` and keep the line for the report."""
        self.log.append(str(message))
        self.print_fn(message)

    @contextlib.contextmanager
    def step(self, what):
        """Announce a long step (when verbose) and time it; yields a dict that gets 'seconds'."""
        if self.verbose:
            self.say(f"[{self.name}] {what} ...")
        timing = {}
        start = time.perf_counter()
        yield timing
        timing["seconds"] = round(time.perf_counter() - start, 2)
        if self.verbose:
            self.say(f"[{self.name}] {what}: {timing['seconds']:.1f} s")

    def picture(self, caption, path):
        """Record a picture (or animation) written into ``out``; returns its file name."""
        path = Path(path)
        self.pictures.append((caption, path.name))
        return path.name

    def compare(self, what, seed, ours, kind="percent", seed_text=None):
        """Add a row to the table of the seed's numbers beside ours (``seed`` None: not given)."""
        row = {
            "what": what,
            "seed": seed,
            "ours": ours,
            "seed_text": seed_text or ("-" if seed is None else _format(seed, kind, seed=True)),
            "ours_text": "-" if ours is None else _format(ours, kind),
        }
        self.comparison.append(row)
        return row

    def print_comparison(self, heading):
        """Print the comparison table (always, whatever ``verbose``: it is the result)."""
        width = max([len("what")] + [len(r["what"]) for r in self.comparison])
        seed_width = max([len("seed")] + [len(r["seed_text"]) for r in self.comparison])
        self.say(heading)
        self.say(f"  {'what':<{width}}  {'seed':>{seed_width}}  {'ours':>9}")
        for r in self.comparison:
            self.say(f"  {r['what']:<{width}}  {r['seed_text']:>{seed_width}}  {r['ours_text']:>9}")


def _format(value, kind, seed=False):
    if kind == "percent":
        if seed:  # as precise as the seed was: 89%, 97.95%
            return f"{100 * value:.2f}".rstrip("0").rstrip(".") + "%"
        return f"{100 * value:.2f}%"
    if kind == "count":
        return f"{int(value):,}"
    return f"{value:.4g}" if seed else f"{value:.4f}"


def check_scale(scale):
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}, got {scale!r}.")
    return scale


def load_data(ctx):
    """MNIST (60,000 / 10,000) as a Bunch with image_shape and name.

    At ``scale="smoke"`` a failed load falls back to the data that ships with the package,
    with a one-line notice; at the other scales the error is raised, since their numbers are
    meant to sit beside the seeds' MNIST numbers.
    """
    spec = "auto" if ctx.scale == "smoke" else "mnist"
    return load_dataset(spec, data_home=ctx.data_home, random_state=ctx.seed, verbose=ctx.verbose,
                        say=lambda line: ctx.say(f"[{ctx.name}] {line}"))


def sample_rows(X, y, n, rng):
    """``n`` rows picked at random (all of them, shuffled, if there are fewer)."""
    rows = rng.permutation(len(X))[:n]
    return X[rows], y[rows]


def pooled_sample(data, n, rng):
    """``n`` digits drawn from the training and test sets pooled (seeds 000 and 003 split
    their own sample of all 70,000)."""
    return sample_rows(np.vstack([data.X_train, data.X_test]),
                       np.concatenate([data.y_train, data.y_test]), n, rng)


def finish(ctx, title, metrics):
    """Add the shared entries to ``metrics``, write ``metrics.json`` and ``report.html``."""
    metrics = dict(metrics)
    metrics["experiment"] = ctx.name
    metrics["scale"] = ctx.scale
    metrics["comparison"] = ctx.comparison
    metrics["pictures"] = [name for _, name in ctx.pictures]
    metrics = to_jsonable(metrics)
    write_json(ctx.out / "metrics.json", metrics)
    config = {"experiment": ctx.name, "scale": ctx.scale, "search": ctx.search, "seed": ctx.seed,
              "device": ctx.device, **ctx.config}
    shown = {k: v for k, v in metrics.items() if k not in ("comparison", "pictures")}
    table = {r["what"]: f"seed {r['seed_text']}, ours {r['ours_text']}" for r in ctx.comparison}
    write_report(ctx.out / "report.html", title, to_jsonable(config),
                 {"seed's numbers beside ours": table, **shown},
                 [(caption, ctx.out / name) for caption, name in ctx.pictures], ctx.log)
    return metrics


def to_jsonable(value):
    """NumPy scalars and arrays, tuples and paths as plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
