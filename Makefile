# firedrill — fire drills that prove the AUREUS incident-response runbook works.
# `make help` lists every target.

SHELL := /bin/bash
GO ?= go
RUNBOOK ?= fixtures/runbooks/incident-response.md
LEDGER ?= drills/ledger.jsonl
SCENARIO ?=
SEVERITY ?=
ARTIFACTS ?= artifacts
FORMAT ?= table
FAIL_ON ?= overdue
FIREDRILL := bin/firedrill

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the firedrill CLI into bin/
	$(GO) build -o $(FIREDRILL) ./cmd/firedrill

.PHONY: deps
deps: ## Install what tests need from Debian when missing (root): PostgreSQL, Redis, debootstrap, jq, gcc, Chromium
	@bash hack/deps.sh

.PHONY: test
test: deps ## Unit and integration tests (real PostgreSQL and Redis on loopback), no Docker needed; actionlint on the workflows
	$(GO) vet ./...
	$(GO) tool actionlint .github/workflows/*.yml
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/drills$$')

.PHONY: validate
validate: build ## Review the runbook statically: findings with line numbers (RUNBOOK=...)
	$(FIREDRILL) validate $(RUNBOOK)

.PHONY: validate-live
validate-live: cluster-up ## Run the runbook's commands on the drill cluster: findings with evidence and a coverage table
	$(FIREDRILL) validate --live $(RUNBOOK)

.PHONY: report
report: build ## Compliance report: last tested, next due, overdue per scenario (LEDGER=..., FORMAT=markdown|json|html)
	$(FIREDRILL) report --runbook $(RUNBOOK) --ledger $(LEDGER) --format $(FORMAT)

.PHONY: compliance
compliance: build ## The compliance gate: the report, failing when a scheduled drill is overdue (FAIL_ON=overdue,never-tested)
	$(FIREDRILL) report --runbook $(RUNBOOK) --ledger $(LEDGER) --fail-on $(FAIL_ON)

.PHONY: verify
verify: build ## Check the drill ledger's hash chain and every evidence pack it references
	$(FIREDRILL) verify --ledger $(LEDGER)

.PHONY: cleanup
cleanup: build ## Undo whatever a crashed or killed drill left behind, from the undo journals
	$(FIREDRILL) cleanup

.PHONY: docker
docker: ## Install and start Docker when missing, with the runc wrapper where the host needs it
	@bash hack/docker-up.sh

.PHONY: images
IMAGES_SOURCE ?= auto
images: docker build ## Build every image offline (or IMAGES_SOURCE=upstream with a registry), cached by content
	$(FIREDRILL) images --source $(IMAGES_SOURCE)

.PHONY: cluster-up
cluster-up: images ## Create (or reuse) the kind cluster "firedrill" with the AUREUS stack rolled out
	$(FIREDRILL) cluster up

.PHONY: cluster-down
cluster-down: build ## Delete the kind cluster "firedrill"
	$(FIREDRILL) cluster down

GINKGO := $(GO) run github.com/onsi/ginkgo/v2/ginkgo
# SEVERITY takes one level or several (SEVERITY="P2 P3" or SEVERITY=P2,P3): drill && (severity:P2 || severity:P3).
comma := ,
space := $() $()
SEVERITY_FILTER := $(subst $(space), || ,$(strip $(foreach s,$(subst $(comma),$(space),$(SEVERITY)),severity:$(s))))
LABELS := drill$(if $(SCENARIO), && scenario:$(SCENARIO))$(if $(SEVERITY_FILTER), && ($(SEVERITY_FILTER)))

.PHONY: drill
drill: build ## Run one drill on the kind cluster: make drill SCENARIO=policy
	@test -n "$(SCENARIO)" || { echo "make drill: say which, e.g. make drill SCENARIO=policy; the runbook has:"; $(FIREDRILL) scenarios $(RUNBOOK); exit 2; }
	@$(FIREDRILL) scenarios --check $(SCENARIO) $(RUNBOOK)
	$(MAKE) --no-print-directory cluster-up
	$(MAKE) --no-print-directory run-drills

.PHONY: drills
drills: cluster-up ## Run every drill on one reused cluster (SEVERITY=P0 narrows them)
	$(MAKE) --no-print-directory run-drills

.PHONY: run-drills
run-drills: build ## Run the drills on the cluster that is up (SCENARIO=..., SEVERITY=P0 or SEVERITY="P2 P3"); HTML pages even when drills fail
	@mkdir -p $(ARTIFACTS)/results
	FIREDRILL_REPO=$(CURDIR) ARTIFACTS=$(abspath $(ARTIFACTS)) $(GINKGO) -v --no-color --label-filter='$(LABELS)' --junit-report=junit.xml --json-report=report.json \
		--output-dir=$(ARTIFACTS) --timeout=80m --fail-on-empty ./drills; \
	drills=$$?; \
	$(FIREDRILL) html --results $(ARTIFACTS)/results --runbook $(RUNBOOK) --ledger $(LEDGER) --out $(ARTIFACTS)/html; \
	html=$$?; \
	if [ $$drills -ne 0 ]; then exit $$drills; fi; exit $$html

.PHONY: repeat-drills
repeat-drills: build ## Flakiness check: the five-drill suite RUNS times (default 10) back to back on the cluster that is up; summary in ARTIFACTS
	RUNS=$(or $(RUNS),10) ARTIFACTS=$(if $(filter artifacts,$(ARTIFACTS)),artifacts/repeat,$(ARTIFACTS)) bash hack/repeat-drills.sh

.PHONY: html
html: build ## HTML pages of the last run: an index, a page per drill (timeline, options, evidence links), compliance (ARTIFACTS=...)
	$(FIREDRILL) html --results $(ARTIFACTS)/results --runbook $(RUNBOOK) --ledger $(LEDGER) --out $(ARTIFACTS)/html

.PHONY: bench
bench: images ## Measure (not a test): harness vs bare kind+kubectl, drill phases, detection vs a 5 s poller, peak memory; recreates the cluster
	$(GO) build -o bin/firedrill-bench ./cmd/firedrill-bench
	bin/firedrill-bench --runbook $(RUNBOOK) --out $(ARTIFACTS)/bench.md

.PHONY: scan-secrets
scan-secrets: ## Fail if any file the drills wrote (evidence, results, reports, JUnit, ledger, .work) holds a stack secret
	FIREDRILL_SCAN=$(CURDIR)/$(ARTIFACTS):$(CURDIR)/$(LEDGER):$(CURDIR)/.work $(GO) test -count=1 -v -run TestDrillOutputsHoldNoSecret ./internal/secretscan

.PHONY: e2e
e2e: ## Everything CI runs on a cluster: images, cluster-up, cluster specs, drills, cluster-down
	@bash hack/e2e.sh
