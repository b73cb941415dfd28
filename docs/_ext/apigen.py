"""The API reference, generated from the ``__all__`` of every public package (a "face").

A face is a package of ``deepbelief`` whose dotted path has no part starting with ``_``. Every
name in its ``__all__`` gets a page (through autosummary) under the highest face that exports
it, in ``FACE_ORDER``; lower faces that re-export it link to that page. So a new public name
appears in the reference by being exported, and ``tests/test_docs.py`` checks that every
exported name is importable and documented.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

import deepbelief

# Faces in reading order (the layers, top face first); faces found but not listed follow, sorted.
FACE_ORDER = ["deepbelief", "deepbelief.models", "deepbelief.datasets", "deepbelief.viz",
              "deepbelief.runs", "deepbelief.experiments"]
SKIPPED_NAMES = {"__version__"}  # shown in the text of the top page, not as an object


def faces():
    """Dotted paths of the public packages, in ``FACE_ORDER`` first."""
    found = {"deepbelief"}
    for info in pkgutil.walk_packages(deepbelief.__path__, "deepbelief."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            found.add(info.name)
    ordered = [f for f in FACE_ORDER if f in found]
    return ordered + sorted(found - set(ordered))


def public_names(face):
    """``__all__`` of the face, without the names that are not objects to document."""
    module = importlib.import_module(face)
    if not hasattr(module, "__all__"):
        raise AttributeError(f"{face} has no __all__: every public package must list its names.")
    return [name for name in module.__all__ if name not in SKIPPED_NAMES]


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "func"
    return "data"


def _key(obj, face, name):
    """What identifies one object across faces (data values are not unique, so by place)."""
    return id(obj) if _kind(obj) != "data" else (face, name)


def canonical_names():
    """{face: [(name, kind, canonical face)]}: where each exported object is documented."""
    home, table = {}, {}
    for face in faces():
        module = importlib.import_module(face)
        rows = []
        for name in public_names(face):
            obj = getattr(module, name)
            key = _key(obj, face, name)
            home.setdefault(key, f"{face}.{name}")
            rows.append((name, _kind(obj), home[key]))
        table[face] = rows
    return table


def _face_page(face, rows):
    title = f"``{face}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {face}", "   :no-members:", "",
             f".. currentmodule:: {face}", ""]
    own = [(name, kind) for name, kind, where in rows if where == f"{face}.{name}"]
    elsewhere = [(name, kind, where) for name, kind, where in rows if where != f"{face}.{name}"]
    if own:
        lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name, _ in own] + [""]
    if elsewhere:
        links = ", ".join(f":py:obj:`{name} <{where}>`" for name, _, where in elsewhere)
        lines += [f"Also importable from ``{face}``, documented where they are first exported: "
                  f"{links}.", ""]
    if not own and not elsewhere:
        lines += [f"``{face}`` exports nothing yet.", ""]
    return "\n".join(lines)


def write_api_pages(out_dir):
    """Write one page per face and the toctree that lists them; return the faces."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = canonical_names()
    for face, rows in table.items():
        _write_if_changed(out / f"{face}.rst", _face_page(face, rows))
    toc = [".. toctree::", "   :maxdepth: 1", ""] + [f"   {face}" for face in table] + [""]
    _write_if_changed(out / "faces.rst.inc", "\n".join(toc))
    return list(table)


def _write_if_changed(path, text):
    """Rewrite a generated page only when it changes, so Sphinx rebuilds only what changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
