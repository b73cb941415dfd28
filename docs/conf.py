"""Sphinx configuration of deepbelief's site: ``make docs`` builds it with warnings as errors."""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

import apigen  # noqa: E402

import deepbelief  # noqa: E402

# The API pages come from every public package's __all__; written now, before Sphinx looks
# for source files, so autosummary sees them on a fresh clone too.
apigen.write_api_pages(HERE / "api")

project = "deepbelief"
author = "the deepbelief developers"
copyright = "2026, the deepbelief developers"
version = release = deepbelief.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "deepbelief_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "examples/README.rst", "**/*.inc", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]

# Broken cross-references fail the build (with -W). Without network there is no intersphinx,
# so references to Python's, NumPy's, scikit-learn's and torch's own types cannot resolve; those
# types (as autodoc writes them in signatures and dataclass fields) are ignored here, by name.
nitpicky = True
nitpick_ignore_regex = [
    ("py:class", r"(str|int|float|bool|tuple|list|dict|object|callable|type|None)"),
    ("py:class", r"(numpy|np|torch|sklearn|pathlib|dask|distributed)\..*"),
]

autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_typehints = "none"  # numpydoc writes the types from the docstrings
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # the class template lists deepbelief's own members
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"deepbelief {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico, a 404
html_show_sourcelink = False
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}

# The example gallery: each script runs at build time on the MNIST sample that ships with the
# package (no network, no ../shared); an error in one fails the build.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib", "deepbelief_docs.png_scraper"),
    "within_subsection_order": "deepbelief_docs.StoryOrder",
    "doc_module": ("deepbelief",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"deepbelief": None},
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_signature": False,
    "min_reported_time": 1,
    "capture_repr": (),  # the picture functions return their paths: the picture is shown instead
    # The execution-times pages load jQuery and DataTables from CDNs: the site must work offline.
    "write_computation_times": False,
}
