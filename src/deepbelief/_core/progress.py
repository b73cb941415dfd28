"""Progress bars for long work; ``verbose=0`` (or ``--quiet``) silences them.

A bar redraws itself in place, which only a terminal (or a notebook) shows as a bar: written to a
file or a pipe it becomes one long line of carriage returns and blank padding. So at
``verbose=1`` the bar is shown only where stderr is a terminal or in a notebook; ``verbose >= 2``
shows it anywhere, as does the environment variable ``DEEPBELIEF_PROGRESS=1``.
"""

import os
import sys

from tqdm.auto import tqdm


def progress(total=None, desc=None, unit="it", verbose=1, **kwargs):
    """A tqdm bar on stderr, disabled (a silent no-op) when ``verbose`` is falsy, and at
    ``verbose=1`` when stderr is neither a terminal nor a notebook's."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not shows_bars(verbose),
        file=sys.stderr,
        dynamic_ncols=True,
        **kwargs,
    )


def shows_bars(verbose):
    """Whether ``progress(verbose=verbose)`` draws a bar here."""
    if not verbose:
        return False
    if verbose >= 2 or os.environ.get("DEEPBELIEF_PROGRESS") == "1":
        return True
    from tqdm.autonotebook import tqdm as chosen
    from tqdm.std import tqdm as plain

    if chosen is not plain:  # in a notebook: a widget, not drawn on stderr
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())
