# Two front-door commands: `make preview` (the offline preview of the dev stack) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: preview test lint format bench scan constraints clean policy-venv

# The policy pack's own virtualenv: the CLI runs <pack>/venv/bin/python and never creates it.
POLICY_PACK ?= policies
POLICY_VENV ?= $(POLICY_PACK)/venv

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt app/requirements.txt functions/requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

policy-venv: $(POLICY_VENV)/.installed

$(POLICY_VENV)/.installed: $(POLICY_PACK)/requirements.txt constraints.txt
	$(PYTHON) -m venv --clear $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(POLICY_PACK)/requirements.txt -c constraints.txt
	touch $@

# Azurite (Microsoft's storage emulator) for the rotation lease and queue, and TypeScript's compiler
# API for the TypeScript example's check, pinned by package-lock.json.
AZURITE := node_modules/.bin/azurite

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

preview: $(STAMP)
	$(PY) -m preflight preview --stack dev

# The hosted drill (drill --local --hosted) runs in tests/drill/test_drill.py, with exact checks.
test: $(STAMP) $(AZURITE)
	$(PY) -m drill --local --rotations 3
	$(PY) -m drill --local --rotations 2 --kv-throttle 8 --arm-throttle 8 --kv-5xx 9 --arm-5xx 5 --latency-ms 5 --accept-delay 0.4
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP) $(AZURITE)
	$(PY) -m bench

scan: $(STAMP)
	$(PY) -m preflight scan .

constraints: $(STAMP)
	{ head -n 2 constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.tmp && mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) $(POLICY_VENV) .pytest_cache .ruff_cache
