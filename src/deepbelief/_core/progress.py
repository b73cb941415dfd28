"""Progress bars for long work; ``verbose=0`` (or ``--quiet``) silences them."""

import sys

from tqdm.auto import tqdm


def progress(total=None, desc=None, unit="it", verbose=1, **kwargs):
    """A tqdm bar on stderr, disabled (a silent no-op) when ``verbose`` is falsy."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not verbose,
        file=sys.stderr,
        dynamic_ncols=True,
        **kwargs,
    )
