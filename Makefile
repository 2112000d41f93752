# The one entry point: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO  ?= cargo
PYTHON ?= python3
VENV   := .venv
BIN    := pipeline-events-api

# Python tools (moto for SSM tests) live in a project-local virtualenv.
VENV_STAMP := $(VENV)/.installed

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: run
run: ## Build and serve the whole API on http://127.0.0.1:3000 (BIND_ADDR to change)
	$(CARGO) run --release --bin $(BIN)

.PHONY: test
test: venv ## Everything CI checks: fmt, clippy, all tests (installs its tools first)
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	MOTO_SERVER="$(CURDIR)/$(VENV)/bin/moto_server" $(CARGO) test --locked

.PHONY: venv
venv: $(VENV_STAMP) ## Install the Python tools into .venv

$(VENV_STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt

.PHONY: sample-data
sample-data: ## Regenerate the built-in sample dataset (data/events.jsonl)
	$(CARGO) run --quiet --release --example generate_events > data/events.jsonl

.PHONY: clean
clean: ## Remove build output and the virtualenv
	$(CARGO) clean
	rm -rf $(VENV)
