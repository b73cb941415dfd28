# The README's two commands: `make demo` and `make test`. Each sets everything up first, once:
# a virtual environment in .venv, PyTorch (the CPU build unless a CUDA GPU is present: a bare
# `pip install torch` pulls several GB of CUDA packages), then deepbelief with its test extras.
# `make docs` builds the site into docs/_build/html (warnings are errors), `make docs-check`
# then opens every page in headless Chromium.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
# (--retries 0: where that index cannot be reached, pip goes on with the others at once)
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
BIN := $(VENV)/bin

.PHONY: demo test setup clean docs docs-check docs-clean

demo: setup
	$(BIN)/deepbelief demo

test: setup
	@$(BIN)/python -c "import torch, deepbelief, os; print('torch', torch.__version__, '| deepbelief', deepbelief.__version__, '| MNIST:', os.environ.get('DEEPBELIEF_DATA', 'not set (the tests on full MNIST are skipped)'))"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# -E re-reads every page, so a warning on an unchanged page still fails the build; the gallery's
# scripts re-run only when they changed (sphinx-gallery keeps their output in docs/auto_examples).
# On a machine busy with other work, `make docs DOCS_THREADS=1` keeps torch's threads from
# contending for the cores (the default: torch's own choice, one per core).
DOCS_THREADS ?=
docs: $(VENV)/.docs-installed
	$(if $(DOCS_THREADS),OMP_NUM_THREADS=$(DOCS_THREADS) )$(BIN)/sphinx-build -W --keep-going -E -b html docs docs/_build/html

docs-check: docs
	$(BIN)/python docs/check_site.py docs/_build/html

docs-clean:
	rm -rf docs/_build docs/auto_examples docs/api/generated docs/api/deepbelief*.rst docs/api/faces.rst.inc docs/sg_execution_times.rst

setup: $(VENV)/.installed

$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test,docs]'
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		$(BIN)/python -m pip install -q "torch==$(TORCH_VERSION)"; \
	else \
		$(BIN)/python -m pip install -q "torch==$(TORCH_VERSION)" --extra-index-url $(TORCH_CPU_INDEX) --retries 0; \
	fi
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

clean: docs-clean
	rm -rf $(VENV) deepbelief-demo .pytest_cache
