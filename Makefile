# Two commands: `make lab` (JupyterLab on the notebooks) and `make test` (unit tests + notebooks).
# Both create .venv and install the package with its [notebooks] and [dev] extras the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CELL_TIMEOUT ?= 600
# Tests and notebooks run on JOBS processes (pytest-xdist; auto: one per core), each on one thread: one
# process per notebook, and no two processes' OpenMP threads competing for the same core.
JOBS ?= auto
PARALLEL := -n $(JOBS)
ONE_THREAD := OMP_NUM_THREADS=1

.PHONY: lab test unit notebooks smoke-gpu test-browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[notebooks,dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: unit notebooks

# The unit tests (tests/test_wheel.py among them: the wheel, installed in a fresh virtual environment)
# and the docstrings' >>> examples (--doctest-modules on the package).
unit: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest $(PARALLEL) --doctest-modules tests pixelcnn_edu --ignore=tests/browser

notebooks: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest $(PARALLEL) --dist loadfile --nbval --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks

# Every notebook in the gpu profile with its budgets shrunk to a few steps (PIXELCNN_EDU_SMOKE=1), on
# whatever device there is: proves the gpu profile's cells run; compares no output.
smoke-gpu: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --profile gpu --smoke --timeout $(CELL_TIMEOUT)

# Every notebook in real JupyterLab (headless Debian Chromium): Run All, no errors, widgets drawn and responding.
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser

clean:
	rm -rf $(VENV) *.egg-info
