"""One self-contained HTML page for a run: settings, results, pictures (embedded) and the log."""

import base64
import html
import math
from datetime import datetime
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from .._core.files import atomic_write_bytes

# First bytes of each image format a browser shows inline, and its MIME type.
_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"\xff\xd8\xff": "image/jpeg",
}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 64rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.3rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f5f6f8; font-weight: 600; }
td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
td table { margin: 0; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; margin-top: 0.3rem; }
pre { background: #f5f6f8; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
.empty { color: #888; font-style: italic; }
"""


def _scalar(value):
    """Text for one value: floats to 6 significant digits, everything else as str()."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return str(value) if math.isnan(value) or math.isinf(value) else f"{float(value):.6g}"
    return str(value)


def _value_html(value):
    """A value as escaped HTML: dicts as nested tables, lists of scalars on one line."""
    if isinstance(value, np.ndarray):
        if value.size > 20:
            return html.escape(f"array of shape {value.shape}, dtype {value.dtype}")
        value = value.tolist()
    if isinstance(value, dict):
        return _table_html(value)
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (dict, list, tuple, np.ndarray)) for v in value):
            return _table_html({f"[{i}]": v for i, v in enumerate(value)})
        items = ", ".join(_scalar(v) for v in value)
        return html.escape(f"({items})" if isinstance(value, tuple) else f"[{items}]")
    return html.escape(_scalar(value))


def _table_html(mapping):
    if not mapping:
        return '<span class="empty">(none)</span>'
    rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{_value_html(value)}</td></tr>"
        for key, value in mapping.items()
    )
    return f"<table>{rows}</table>"


def _image_data_uri(path):
    data = path.read_bytes()
    for magic, mime in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    raise ValueError(f"picture {path} is not a PNG, GIF or JPEG image.")


def write_report(path, title, config, metrics, pictures, log_lines=None):
    """Write one self-contained HTML report: settings, results, pictures and log in one file.

    Pictures are embedded as base64 data URIs, so the file can be mailed or archived alone.
    Every piece of text is HTML-escaped. The file is written atomically.

    Parameters
    ----------
    path : str or Path
        The HTML file to write.
    title : str
    config : dict
        Settings of the run (model parameters, data, seed); nested dicts become nested tables.
    metrics : dict
        Results (errors, accuracy, timings), shown the same way.
    pictures : list of (str, str or Path)
        ``(caption, image file)`` pairs in the order to show them; PNG, GIF or JPEG.
    log_lines : list of str, default=None
        Shown at the end as preformatted text.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError
        A picture file does not exist (the message names it); nothing is written.

    Examples
    --------
    >>> write_report("run/report.html", "RBM on digits", {"n_components": 64},
    ...              {"error": 0.031}, [("filters", "run/filters.png")])  # doctest: +SKIP
    PosixPath('run/report.html')
    """
    from .._version import __version__

    for name, table in (("config", config), ("metrics", metrics)):
        if not isinstance(table, dict):
            raise TypeError(f"{name} must be a dict, got {type(table).__name__}.")
    figures = []
    for item in pictures:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"pictures must be a list of (caption, path) pairs, got {item!r}.")
        caption, picture = str(item[0]), Path(item[1])
        if not picture.is_file():
            raise FileNotFoundError(f"picture not found: {picture} (caption {caption!r})")
        figures.append(
            f'<figure><img src="{_image_data_uri(picture)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    created = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    sections = [
        "<h2>Configuration</h2>", _table_html(config),
        "<h2>Metrics</h2>", _table_html(metrics),
        "<h2>Pictures</h2>", "\n".join(figures) or '<p class="empty">(none)</p>',
    ]
    if log_lines:
        log = "\n".join(str(line).rstrip("\n") for line in log_lines)
        sections += ["<h2>Log</h2>", f"<pre>{html.escape(log)}</pre>"]
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(str(title))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(str(title))}</h1>",
        f'<p class="meta">{html.escape(created)} &middot; deepbelief '
        f"{html.escape(__version__)}</p>",
        *sections,
        "</body></html>",
        "",
    ])
    return atomic_write_bytes(path, page.encode("utf-8"))
