"""Sphinx glue for deepbelief's site: the API pages, inherited members, the CLI's help, pictures.

- ``autodoc-skip-member``: a class page shows the methods deepbelief defines (also those
  inherited from its own mixins) but not scikit-learn's or torch's, whose docstrings use
  cross-references to their own sites.
- ``autodoc-process-docstring``: a constant re-exported by a package (``NUDGES``) gets the
  ``#:`` comment written above it in the module that defines it (autodoc looks only in the
  package); a public constant without one is a warning, so an error in ``make docs``.
- ``.. deepbelief-cli::`` prints ``deepbelief --help`` and every command's ``--help``, taken from
  the real parser, so the CLI page cannot fall behind the code.
- ``StoryOrder``: the gallery's examples in the order of the seed stories.
- ``png_scraper``: sphinx-gallery scraper for the PNG and GIF files an example writes into its
  folder (deepbelief's picture functions write files, not pyplot figures).
"""

import os
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _defined_in(obj):
    obj = getattr(obj, "fget", obj)  # properties
    obj = getattr(obj, "__func__", obj)  # classmethods, staticmethods
    return getattr(obj, "__module__", None) or ""


def _skip_member(app, what, name, obj, skip, options):
    if what == "class" and not _defined_in(obj).startswith("deepbelief"):
        return True
    return None


def _comment_where_defined(fullname):
    """The ``#:`` comment above ``NAME = ...`` in the submodule of the face that defines it."""
    face, name = fullname.rsplit(".", 1)
    obj = getattr(sys.modules[face], name)
    for modname, module in sorted(sys.modules.items()):
        if modname.startswith(face + ".") and getattr(module, name, None) is obj:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name))
            if docs:
                return list(docs)
    return None


def _constant_docstring(app, what, name, obj, options, lines):
    if what != "data":
        return
    own = "\n".join(lines).strip()
    if own and own != (type(obj).__doc__ or "").strip():
        return  # a doc comment in the face itself
    comment = _comment_where_defined(name)
    if comment is None:
        logger.warning(f"{name} has no '#:' doc comment where it is defined; write one.")
        comment = []
    lines[:] = comment


class CliHelp(SphinxDirective):
    """The help of ``deepbelief`` and of each of its commands, as literal blocks."""

    def run(self):
        from deepbelief.cli import build_parser

        saved = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "96"  # argparse wraps to this width: the same text on every build
        try:
            parser = build_parser()
            result = [self._block("deepbelief", parser.format_help())]
            commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
            for name, sub in commands.choices.items():
                section = nodes.section(ids=[f"cli-{name}"], names=[f"cli-{name}"])
                section += nodes.title(text=f"deepbelief {name}")
                section += self._block(name, sub.format_help())
                result.append(section)
        finally:
            if saved is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = saved
        return result

    @staticmethod
    def _block(name, text):
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return block


class PNGScraper:
    """Move the pictures an example block wrote into its folder into the gallery's image folder."""

    suffixes = (".png", ".gif")

    def __repr__(self):  # sphinx-gallery hashes the config by repr
        return "deepbelief_docs.png_scraper"

    def __call__(self, block, block_vars, gallery_conf):
        from sphinx_gallery.scrapers import figure_rst

        folder = Path(block_vars["src_file"]).parent
        written = sorted((p for p in folder.iterdir() if p.suffix in self.suffixes),
                         key=lambda p: p.stat().st_mtime)
        names = []
        for path in written:
            target = Path(next(block_vars["image_path_iterator"]))
            target = target.with_suffix(path.suffix)
            shutil.move(path, target)
            names.append(str(target))
        return figure_rst(names, gallery_conf["src_dir"])


png_scraper = PNGScraper()

# The gallery in the order of the stories; examples not listed follow, by file name.
STORY_ORDER = ["plot_rbm_logistic.py", "plot_dbn_classifier.py", "plot_autoencoder_2d.py",
               "plot_rbm_anatomy.py", "plot_likelihood_ais.py"]


class StoryOrder:
    """sphinx-gallery's ``within_subsection_order``: ``STORY_ORDER``, then the rest by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __repr__(self):
        return "deepbelief_docs.StoryOrder"

    def __call__(self, filename):
        name = Path(filename).name
        return (STORY_ORDER.index(name), "") if name in STORY_ORDER else (len(STORY_ORDER), name)


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _constant_docstring, priority=400)  # before numpydoc
    app.add_directive("deepbelief-cli", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
