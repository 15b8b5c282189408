# Technician Commitment suite. `make help` lists the targets.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
# The approved toolchain, newer than the machine's Go 1.26: the go command fetches it from
# the module proxy like a module on first use. Exported so every recipe, and every go
# command those recipes start (tests that build services, make token), uses it.
export GOTOOLCHAIN := go1.27.3
BIN          := $(CURDIR)/bin
# Every module of the workspace, in the order they build. deploy and bench are modules
# of their own outside it (GOWORK=off), so that what they need (Kustomize, the NATS
# server's config parser at its newest, vegeta) does not move the services' versions.
MODULES      := libs $(sort $(wildcard services/*)) devstack reliability
SERVICES     := $(notdir $(wildcard services/*))
ROLE         ?= ops
ORG          ?=
SUB          ?=
# A count, not a duration: Go 1.26's fuzzer can fail a target with a bare "context
# deadline exceeded" when a duration runs out mid-execution (go.dev/issue/75804, fixed
# in Go 1.27); a count has no deadline to race. Minimisation gets a count too, so a
# slow, database-backed target does not spend a minute shrinking each new input.
FUZZTIME     ?= 200x
FUZZMINIMIZE ?= 20x

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every service, the local stack runner and the mail catcher into bin/
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do (cd services/$$s && $(GO) build -o $(BIN)/$$s ./cmd/$$s); done
	@cd devstack && $(GO) build -o $(BIN)/tcdev ./cmd/tcdev
	@test -x $(BIN)/mailpit || (cd tools && GOWORK=off $(GO) build -o $(BIN)/mailpit github.com/axllent/mailpit)

.PHONY: run
run: build ## Run the whole suite locally: embedded NATS and FerretDB, Mailpit, every service
	@$(BIN)/tcdev run -data .data -bin $(BIN)

.PHONY: token
token: ## Print a development token: make token ROLE=lead ORG=<organisation id> [SUB=<user id>]
	@cd devstack && $(GO) run ./cmd/tcdev token -data $(CURDIR)/.data -role $(ROLE) $(if $(ORG),-org $(ORG)) $(if $(SUB),-sub $(SUB))

.PHONY: test
test: lint check-generate ## Lint, check generated code, run every module's tests (libs with -race) and short fuzz runs
	@cd libs && $(GO) test -race -count=1 ./...
	@for m in $(filter-out libs,$(MODULES)); do echo "== $$m"; (cd $$m && $(GO) test -count=1 ./...); done
	@echo "== deploy"; cd deploy && GOWORK=off $(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME executions (default 200x; a duration such as 2m works too)
	@for m in $(MODULES); do \
	  (cd $$m && for pkg in $$($(GO) list ./...); do \
	    for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	      echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	    done; done); \
	done

.PHONY: lint
lint: ## gofmt, go vet and staticcheck over every module
	@test -z "$$(gofmt -l $(MODULES) deploy bench)" || (echo "gofmt needed:"; gofmt -l $(MODULES) deploy bench; exit 1)
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@cd deploy && GOWORK=off $(GO) vet ./...
	@cd bench && GOWORK=off $(GO) vet ./...
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck
	@for m in $(MODULES); do (cd $$m && $(BIN)/staticcheck ./...); done
	@cd deploy && GOWORK=off $(BIN)/staticcheck ./...

.PHONY: generate
generate: ## Regenerate the server code from each service's OpenAPI document
	@for s in $(SERVICES); do (cd services/$$s/api && $(GO) generate ./...); done

.PHONY: check-generate
check-generate: generate ## Fail if generated code is not what `make generate` writes
	@git diff --exit-code -- services/*/api

.PHONY: reliability
reliability: ## The long fault harness (kill -9, NATS restarts, relay crash, poison); writes docs/RELIABILITY.md
	@cd reliability && $(GO) run ./cmd/reliability -root $(CURDIR) -out $(CURDIR)/docs/RELIABILITY.md $(if $(UNITS),-units $(UNITS))

.PHONY: bench
bench: build ## Measure the running suite against same-run baselines; writes docs/BENCHMARKS.md
	@mkdir -p docs
	@cd bench && GOWORK=off $(GO) run ./cmd/bench -bin $(BIN) -out $(CURDIR)/docs/BENCHMARKS.md

REGISTRY     ?= registry.itss.org.uk/technician-commitment
TAG          ?= dev

.PHONY: images
# The images' digests go to the prod overlay's release component, which pins each image
# by digest (a tag can be moved; a digest names exactly what was built and pushed).
RELEASE      := deploy/k8s/overlays/prod/release/kustomization.yaml
images: ## Build a static, non-root container image per service into dist/images and pin their digests in the prod overlay
	@mkdir -p $(BIN)/linux dist/images
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/mkimage ./cmd/mkimage
	@{ echo "# Written by make images REGISTRY=$(REGISTRY) TAG=$(TAG): each service's image by the"; \
	  echo "# digest of what was built. Push dist/images/*.tar, then commit this file."; \
	  echo "apiVersion: kustomize.config.k8s.io/v1alpha1"; echo "kind: Component"; echo "images:"; } > $(RELEASE).tmp
	@for s in $(SERVICES); do \
	  (cd services/$$s && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/linux/$$s ./cmd/$$s); \
	  line=$$($(BIN)/mkimage -binary $(BIN)/linux/$$s -name $(REGISTRY)/$$s:$(TAG) -out dist/images/$$s.tar); \
	  echo "$$line"; \
	  echo "  - {name: technician-commitment/$$s, newName: $(REGISTRY)/$$s, digest: $${line##* }} # $(TAG)" >> $(RELEASE).tmp; \
	done
	@mv $(RELEASE).tmp $(RELEASE)

.PHONY: clean
clean: ## Remove binaries (keeps .data)
	rm -rf $(BIN)
