"""The public faces: every package lists its public names in ``__all__``, each importable from
there and documented, and the API reference (docs/_ext/apigen.py) has a page or a link for each.

The site itself is built by ``make docs`` (warnings, broken cross-references included, are
errors) in CI after the tests.
"""

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import apigen  # noqa: E402

FACES = apigen.faces()


def test_every_public_package_is_a_face():
    expected = {"deepbelief", "deepbelief.models", "deepbelief.datasets", "deepbelief.viz",
                "deepbelief.runs", "deepbelief.experiments"}
    assert expected <= set(FACES)
    assert not [f for f in FACES if any(part.startswith("_") for part in f.split("."))]


@pytest.mark.parametrize("face", FACES)
def test_all_names_are_importable_and_unique(face):
    module = importlib.import_module(face)
    names = module.__all__
    assert len(names) == len(set(names)), f"{face}.__all__ repeats a name"
    for name in names:
        assert hasattr(module, name), f"{face}.__all__ lists {name!r}, which it does not define"
        exec(f"from {face} import {name}", {})


def _documentation(face, name):
    """The docstring of a class or function, or the ``#:`` comment of a constant."""
    obj = getattr(importlib.import_module(face), name)
    if inspect.isclass(obj) or callable(obj):
        return inspect.getdoc(obj) if obj.__doc__ else ""
    comment = re.compile(rf"((?:^#:.*\n)+)^{name}\s*=", re.MULTILINE)  # what autodoc reads
    for modname in [face] + sorted(m for m in sys.modules if m.startswith(face + ".")):
        if getattr(sys.modules[modname], name, None) is obj:
            found = comment.search(inspect.getsource(sys.modules[modname]))
            if found:
                return found.group(1)
    return ""


@pytest.mark.parametrize("face", FACES)
def test_every_public_name_is_documented(face):
    undocumented = [name for name in apigen.public_names(face) if len(_documentation(face, name)) < 20]
    assert not undocumented, f"{face}: no docstring (or '#:' comment) for {undocumented}"


def test_api_pages_cover_every_public_name(tmp_path):
    faces = apigen.write_api_pages(tmp_path)
    assert faces == FACES
    toc = (tmp_path / "faces.rst.inc").read_text()
    for face in faces:
        assert f"   {face}\n" in toc
        page = (tmp_path / f"{face}.rst").read_text()
        for name in apigen.public_names(face):
            assert f"   {name}\n" in page or f"`{name} <" in page, f"{face}.{name} is not on its page"


def test_each_object_has_one_home_in_the_reference():
    homes = {}
    for face, rows in apigen.canonical_names().items():
        module = importlib.import_module(face)
        for name, _, where in rows:
            obj = getattr(module, name)
            if callable(obj):
                homes.setdefault(id(obj), set()).add(where)
    assert all(len(places) == 1 for places in homes.values())
    table = apigen.canonical_names()
    assert ("RBM", "class", "deepbelief.RBM") in table["deepbelief.models"]


def test_old_import_paths_still_work():
    from deepbelief.datasets import nudge
    from deepbelief.datasets.augment import nudge as nudge_old
    from deepbelief.models.likelihood import binarize
    from deepbelief.viz import repair
    from deepbelief.viz.probes import repair as repair_old

    assert nudge is nudge_old and repair is repair_old
    assert importlib.import_module("deepbelief.models").binarize is binarize
