# The two set-up commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_HOME ?= demo-home

.PHONY: demo test bench install clean-demo audience-model

AXE_VERSION := 4.14.1

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@# axe-core checks the public wall's accessibility in the browser tests (npm registry, like pip).
	@if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION) >/dev/null; \
	 else echo "npm not found: the accessibility test of the wall will be skipped"; fi
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/campaign-worker --home $(DEMO_HOME) demo

# One worker per core; a file's tests stay on one worker, so its module fixtures (demo homes) are built once.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Retrain the audience model from the development captions (dev + extra; never holdout), seeded.
audience-model: $(STAMP)
	$(BIN)/python -m campaign_worker.moderation.audience_train

clean-demo:
	rm -rf $(DEMO_HOME)
