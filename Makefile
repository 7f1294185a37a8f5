# Two commands for a fresh machine: `make course` (run the course) and `make test` (the test suite).
# Both create .venv when missing and install everything, torch first and pinned (off Colab).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
STAMP := $(VENV)/.installed-stamp
# The tests' local Hugging Face Hub (olah) lives in a venv of its own: its web stack stays out of the course's.
OLAH_VENV ?= .venv-olah
OLAH_VERSION ?= 0.5.4
# Tests and nbval run the notebooks under the smallest profile, offline.
TEST_ENV := SST5_PROFILE=smoke HF_HUB_OFFLINE=1 CLEARML_OFFLINE_MODE=1 MPLBACKEND=Agg \
	SST5_OLAH=$(abspath $(OLAH_VENV))/bin/olah-cli

.PHONY: install course test lint format notebooks clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install -q -e ".[dev,lora,mpnet,demo]"
	# the demo's browser test drives Debian's chromium (where apt can install it; else that test is skipped)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) || \
		echo "note: chromium and chromium-driver not installed: the demo's browser test will be skipped"
	test -x $(OLAH_VENV)/bin/olah-cli || ($(PYTHON) -m venv $(OLAH_VENV) && \
		$(OLAH_VENV)/bin/python -m pip install -q olah==$(OLAH_VERSION))
	touch $@

## Run the whole course headless (papermill) on the default profile; figures refresh img/.
course: install
	$(BIN)/python scripts/run_course.py --out runs/course --figures img

## Unit tests, notebook tests (papermill), nbval over every notebook (smoke profile), then the user's path:
## the built wheel, installed next to the same dependencies, runs a smoke batch from outside the checkout.
test: install
	$(TEST_ENV) $(BIN)/python -m pytest -q --durations=15 tests
	$(TEST_ENV) $(BIN)/python -m pytest -q --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider notebooks
	$(TEST_ENV) bash scripts/check_install.sh $(VENV)

lint: install
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/nbstripout --verify notebooks/*.ipynb colab/*.ipynb

format: install
	$(BIN)/ruff check --fix src scripts tests benchmarks
	$(BIN)/nbstripout notebooks/*.ipynb colab/*.ipynb

## Rewrite every notebook's badge and set-up cells from sst5.course.
notebooks: install
	$(BIN)/python scripts/sync_notebooks.py
	$(BIN)/nbstripout notebooks/*.ipynb colab/*.ipynb

clean:
	rm -rf runs .pytest_cache
