# Technician Commitment suite. `make help` lists the targets.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
# The approved toolchain, newer than the machine's Go 1.26: the go command fetches it from
# the module proxy like a module on first use. Exported so every recipe, and every go
# command those recipes start (tests that build services, make token), uses it.
export GOTOOLCHAIN := go1.27.3
# Everything is built without cgo, as the images are (make images): the binaries that
# make run starts and the tests run are static like those a cluster runs, with Go's own
# DNS resolver, and a process idles in about 2 MiB less memory (no C library mapped).
# The race detector needs cgo: the one recipe that uses it turns it on for itself.
export CGO_ENABLED := 0
BIN          := $(CURDIR)/bin
# Every module of the workspace, in the order they build. deploy and bench are modules
# of their own outside it (GOWORK=off), so that what they need (Kustomize, the NATS
# server's config parser at its newest, vegeta) does not move the services' versions.
MODULES      := libs $(sort $(wildcard services/*)) devstack examples reliability
SERVICES     := $(notdir $(wildcard services/*))
ROLE         ?= ops
ORG          ?=
SUB          ?=
AUD          ?=
# The local stack's data (NATS, FerretDB, Mailpit, the development signing key). make
# token reads the signing key from it, so a stack started elsewhere (the README
# walkthrough's test) has its tokens minted with DATA_DIR=<its directory>.
DATA_DIR     ?= $(CURDIR)/.data
# Both are read from the repository's root, as people type them (make run DATA_DIR=other,
# make build BIN=other), whichever directory a recipe changes into before using them.
override BIN      := $(abspath $(BIN))
override DATA_DIR := $(abspath $(DATA_DIR))
# A count, not a duration: Go 1.26's fuzzer can fail a target with a bare "context
# deadline exceeded" when a duration runs out mid-execution (go.dev/issue/75804, fixed
# in Go 1.27); a count has no deadline to race. Minimisation gets a count too, so a
# slow, database-backed target does not spend a minute shrinking each new input.
FUZZTIME     ?= 200x
FUZZMINIMIZE ?= 20x
# The tests' temporary files (each test's NATS store, the shared FerretDB's SQLite
# files, each browser's profile and shared memory, the go command's builds) go in
# memory when /dev/shm has 4 GiB free: on a disk, creating and syncing them cost the
# portal's test process 26-40 s of its 224 s of processor (the package took 336 s on
# 2 cores, 299-311 s in memory). TEST_TMPDIR=<directory> puts them elsewhere.
ifndef TEST_TMPDIR
TEST_TMPDIR  := $(shell free=$$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $$4}'); \
                  [ "$${free:-0}" -ge 4194304 ] && echo /dev/shm/techcommit-tests || echo "$${TMPDIR:-/tmp}")
endif

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every service, the local stack runner, the mail catcher and gojq (a jq) into bin/
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do (cd services/$$s && $(GO) build -o $(BIN)/$$s ./cmd/$$s); done
	@cd devstack && $(GO) build -o $(BIN)/tcdev ./cmd/tcdev
	@test -x $(BIN)/mailpit || (cd tools && GOWORK=off $(GO) build -o $(BIN)/mailpit github.com/axllent/mailpit)
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/gojq github.com/itchyny/gojq/cmd/gojq

.PHONY: run
run: build ## Run the whole suite locally: embedded NATS and FerretDB, Mailpit, every service
	@$(BIN)/tcdev run -data $(DATA_DIR) -bin $(BIN)

.PHONY: token
token: ## Print a development token (1h): make token ROLE=lead ORG=<organisation id> [SUB=<user id>] [AUD=review,notify|all]
	@cd devstack && $(GO) run ./cmd/tcdev token -data $(DATA_DIR) -role $(ROLE) $(if $(ORG),-org $(ORG)) $(if $(SUB),-sub $(SUB)) $(if $(AUD),-aud $(AUD))

.PHONY: test
test: lint-code check-generate vulncheck ## Lint (but lint-deploy), check generated code and known vulnerabilities, run every module's tests (libs with -race) and short fuzz runs
	@[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || echo "no Chromium: the portal's browser journeys are skipped (apt-get install chromium; .ci/run installs it)"
	@command -v java >/dev/null || echo "no Java: the journeys' pages are not given to the HTML checker (apt-get install default-jre-headless; .ci/run installs it)"
	@# The short fuzz runs go in the tests' last stretch (TAIL_FUZZ), beside the modules
	@# that leave the processor half idle, not beside libs: the processor they take
	@# building every package again instrumented for fuzzing made a timed test of libs
	@# under the race detector miss its deadline (TestAWidenedDurableIsUpdatedInPlace...).
	@$(MAKE) --no-print-directory test-modules TAIL_FUZZ=yes

# The modules whose tests mostly wait (on processes they start and stop, on a stack
# coming up, on Kustomize and the NATS server's config parser) and leave the processor
# half idle: 42 to 69% of two cores busy, against 81 to 94% for the other services'.
# They run in two lanes at once, after the rest: the first lane's modules one after
# the other, and beside them the second lane's, then (in make test) the fuzz runs.
# Each module's output is printed whole, the second lane's after the first's.
TAIL_A       := services/signatory devstack examples

.PHONY: test-modules
test-modules fuzz: export TMPDIR := $(TEST_TMPDIR)
test-modules: ## Run every module's tests (libs with -race), deploy's and bench's, without lint or fuzzing (make test runs them all)
	@mkdir -p "$$TMPDIR"
	@cd libs && CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	@# reliability's test runs the suite as processes through kill -9 and NATS restarts
	@# and mostly waits on them (half a processor for a minute or two), so it runs
	@# beside the portal's, which keep the processor busy, not alone after the rest;
	@# its output follows the last module's.
	@rel=$$(mktemp); relpid=; \
	for m in $(filter-out libs reliability $(TAIL_A),$(MODULES)); do \
	  if [ "$$m" = services/portal ]; then (cd reliability && $(GO) test -count=1 ./... >"$$rel" 2>&1) & relpid=$$!; fi; \
	  echo "== $$m"; (cd $$m && $(GO) test -count=1 ./...); \
	done; \
	echo "== reliability (run beside services/portal)"; \
	rc=0; wait "$$relpid" || rc=$$?; cat "$$rel"; rm -f "$$rel"; exit $$rc
	@# The benchmark's own code (its reports, its sums) is tested too; make bench runs it.
	@laneb=$$(mktemp); \
	( set -e; \
	  echo "== deploy"; (cd deploy && GOWORK=off $(GO) test -count=1 ./...); \
	  echo "== bench"; (cd bench && GOWORK=off $(GO) test -count=1 ./...); \
	  if [ "$(TAIL_FUZZ)" = yes ]; then echo "== fuzz"; $(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME); fi \
	) >"$$laneb" 2>&1 & lanebpid=$$!; \
	rc=0; for m in $(TAIL_A); do \
	  echo "== $$m"; (cd $$m && $(GO) test -count=1 ./...) || { rc=$$?; break; }; \
	done; \
	echo "== the second lane, run beside $(TAIL_A):"; \
	wait "$$lanebpid" || rc=$$?; cat "$$laneb"; rm -f "$$laneb"; exit $$rc

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME executions (default 200x; a duration such as 2m works too)
	@mkdir -p "$$TMPDIR"
	@# The targets are found in the sources: asking go test -list would build every
	@# package's test binary only to list a dozen functions (minutes of CI).
	@for m in $(MODULES); do \
	  (cd $$m && for dir in $$(grep -rl --include='*_test.go' --exclude-dir=testdata '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do \
	    for f in $$(cat $$dir/*_test.go | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' | sort -u); do \
	      echo "fuzz $$m/$${dir#./} $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$dir || exit 1; \
	    done; done) || exit 1; \
	done

# make test runs lint-code; make lint adds lint-deploy, whose checker takes about four
# minutes to build on a fresh 2-core machine (Trivy and the Open Policy Agent), which
# would take make test past twenty. Run it when the manifests change.
.PHONY: lint
lint: lint-code lint-deploy ## lint-code, then Trivy's Kubernetes checks (lint-deploy)

.PHONY: lint-code
lint-code: ## gofmt, tidy go.mod files, go vet, staticcheck and gosec over every module, then lint-api
	@test -z "$$(gofmt -l $(MODULES) deploy bench tools/kubecheck)" || (echo "gofmt needed:"; gofmt -l $(MODULES) deploy bench tools/kubecheck; exit 1)
	@# Every module's go.mod says what it needs, so each builds on its own too (deploy,
	@# bench and tools always do, outside the workspace).
	@for m in $(MODULES) deploy bench tools; do (cd $$m && GOWORK=off $(GO) mod tidy -diff >/dev/null) || (echo "go.mod of $$m is not tidy: cd $$m && go mod tidy"; exit 1); done
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@cd deploy && GOWORK=off $(GO) vet ./...
	@cd bench && GOWORK=off $(GO) vet ./...
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck
	@for m in $(MODULES); do (cd $$m && $(BIN)/staticcheck ./...); done
	@cd deploy && GOWORK=off $(BIN)/staticcheck ./...
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/gosec github.com/securego/gosec/v2/cmd/gosec
	@# Test files are not scanned (gosec's default): they start servers and read fixtures on
	@# purpose. Each finding left in the code is switched off in place, with its reason.
	@$(BIN)/gosec -quiet -exclude-generated $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@# deploy and bench are modules outside the workspace: the manifests' tests and the
	@# benchmark's driver (it writes the report and profiles where its operator says).
	@cd deploy && GOWORK=off $(BIN)/gosec -quiet -exclude-generated ./...
	@cd bench && GOWORK=off $(BIN)/gosec -quiet -exclude-generated ./...
	@$(MAKE) --no-print-directory lint-api

# Trivy v0.74 (the version the module proxy serves) builds only with Go 1.26 and its
# encoding/json/v2 experiment: its checker is a module of its own, built with the Go the
# machine has (or that toolchain, fetched like go1.27.3 when the machine has another).
KUBECHECK_GO := GOTOOLCHAIN=go1.26.8 GOEXPERIMENT=jsonv2 GOWORK=off

.PHONY: lint-deploy
lint-deploy: ## Trivy's Kubernetes checks over the rendered overlays and restore Job: no finding but those accepted in deploy/kubecheck-accepted.txt
	@cd tools/kubecheck && $(KUBECHECK_GO) $(GO) mod tidy -diff >/dev/null || (echo "go.mod of tools/kubecheck is not tidy: cd tools/kubecheck && $(KUBECHECK_GO) go mod tidy"; exit 1)
	@cd tools/kubecheck && $(KUBECHECK_GO) $(GO) vet . && $(KUBECHECK_GO) $(GO) test -count=1 . >/dev/null && $(KUBECHECK_GO) $(GO) build -o $(BIN)/kubecheck .
	@cd deploy && GOWORK=off $(GO) run ./cmd/render -out $(BIN)/rendered
	@$(BIN)/kubecheck -data deploy/kubecheck -accepted deploy/kubecheck-accepted.txt $(BIN)/rendered/dev $(BIN)/rendered/prod $(BIN)/rendered/restore

# The services whose OpenAPI documents are linted and held to their released contract.
API_SERVICES := signatory notify fund review

.PHONY: lint-api
lint-api: ## Spectral with the OWASP API rules over the services' OpenAPI documents and its AsyncAPI rules over the events' document, and oasdiff: no breaking change against each released one
	@# npm ci only when the lock file changed since the last install (tools/node_modules
	@# is the cache); install scripts are not run, Spectral needs none.
	@lock=$$(sha256sum tools/package-lock.json | cut -d' ' -f1); \
	  if [ "$$(cat tools/node_modules/.lock-sha256 2>/dev/null)" != "$$lock" ]; then \
	    (cd tools && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) && echo "$$lock" > tools/node_modules/.lock-sha256; \
	  fi
	@tools/node_modules/.bin/spectral lint --quiet --ruleset .spectral.yaml --fail-severity warn $(foreach s,$(API_SERVICES),services/$(s)/api/openapi.yaml)
	@# And the events' AsyncAPI document (make generate writes it) with the AsyncAPI rules.
	@tools/node_modules/.bin/spectral lint --quiet --ruleset .spectral-asyncapi.yaml --fail-severity warn docs/asyncapi.json
	@mkdir -p $(BIN)
	@cd tools/oasdiff && GOWORK=off $(GO) build -o $(BIN)/oasdiff github.com/oasdiff/oasdiff
	@# A release copies each current document over its released one (docs/API.md). A
	@# breaking change accepted on purpose is listed, with why, in the service's
	@# api/accepted-breaking.txt, which the release empties.
	@# oasdiff passes over a line that matches nothing: a line whose change is gone (the
	@# contract changed back, or was released) fails here, as kubecheck's stale lines do.
	@for s in $(API_SERVICES); do echo "== oasdiff $$s"; ign=services/$$s/api/accepted-breaking.txt; \
	  $(BIN)/oasdiff breaking --fail-on ERR $$([ -f $$ign ] && echo --err-ignore $$ign) services/$$s/api/released/openapi.yaml services/$$s/api/openapi.yaml || exit 1; \
	  [ -f $$ign ] || continue; \
	  all=$$($(BIN)/oasdiff breaking --format singleline services/$$s/api/released/openapi.yaml services/$$s/api/openapi.yaml); \
	  while IFS= read -r l; do case "$$l" in ''|'#'*) continue;; esac; \
	    grep -qF "in API $$l [" <<<"$$all" || { echo "$$ign accepts a breaking change oasdiff no longer finds: remove its line: $$l" >&2; exit 1; }; \
	  done < $$ign || exit 1; done

# The vulnerability database, built offline from the golang.org/x/vulndb module that
# tools/go.mod pins (govulncheck's online database cannot be reached from here); it is
# rebuilt when that version changes. Bump it with: cd tools && go get golang.org/x/vulndb@latest
VULNDB       := $(BIN)/vulndb

.PHONY: vulncheck
vulncheck: build ## govulncheck over every binary against the offline database: no reachable finding but those accepted in tools/vulncheck-accepted.txt
	@mkdir -p $(BIN)
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/govulncheck golang.org/x/vuln/cmd/govulncheck && GOWORK=off $(GO) build -o $(BIN)/indexdb golang.org/x/vulndb/cmd/indexdb
	@ver=$$(cd tools && GOWORK=off $(GO) list -m -f '{{.Version}}' golang.org/x/vulndb); \
	  if [ "$$(cat $(VULNDB).version 2>/dev/null)" != "$$ver" ]; then \
	    rm -rf $(VULNDB) && $(BIN)/indexdb -vulns "$$(cd tools && GOWORK=off $(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv" -out $(VULNDB) && echo "$$ver" > $(VULNDB).version; \
	  fi
	@# What runs: every service's binary and the local stack's runner, as make build makes them.
	@# An accepted finding no binary reaches any more fails too: its line is removed then.
	@reached=$$(mktemp); trap 'rm -f "$$reached"' EXIT; \
	  for b in $(SERVICES) tcdev; do echo "== vulncheck bin/$$b"; VULNCHECK_REACHED=$$reached tools/vulncheck.sh $(BIN) $(BIN)/$$b || exit 1; done; \
	  for id in $$(grep -o '^GO-[0-9]*-[0-9]*' tools/vulncheck-accepted.txt); do \
	    grep -qx "$$id" "$$reached" || { echo "$$id is accepted in tools/vulncheck-accepted.txt, but no binary reaches it any more: remove its line" >&2; exit 1; }; \
	  done

.PHONY: generate
generate: ## Regenerate the server code from each service's OpenAPI document, and the events' AsyncAPI document
	@# The portal serves pages, not an API of its own: it has no api/ to generate.
	@for s in $(SERVICES); do [ -d services/$$s/api ] || continue; (cd services/$$s/api && $(GO) generate ./...); done
	@cd libs && $(GO) run ./events/asyncapi/cmd/asyncapi -src events -out ../docs/asyncapi.json

.PHONY: check-generate
check-generate: generate ## Fail if generated code is not what `make generate` writes
	@git diff --exit-code -- services/*/api docs/asyncapi.json

.PHONY: reliability
reliability: ## The long fault harness (kill -9, NATS restarts, relay crash, poison); writes docs/RELIABILITY.md
	@cd reliability && $(GO) run ./cmd/reliability -root $(CURDIR) -out $(CURDIR)/docs/RELIABILITY.md $(if $(UNITS),-units $(UNITS))

.PHONY: bench
bench: build ## Measure the running suite against same-run baselines; writes docs/BENCHMARKS.md
	@mkdir -p docs
	@cd bench && GOWORK=off $(GO) run ./cmd/bench -bin $(BIN) -out $(CURDIR)/docs/BENCHMARKS.md

REGISTRY     ?= registry.itss.org.uk/technician-commitment
TAG          ?= dev
# A release's tag is a version (1.4.0, v1.4.0-rc.1): only such a build may pin prod's
# images. TAG=dev, the default, names whatever was built last.
RELEASE_TAG  := $(shell printf '%s' '$(TAG)' | grep -Ex 'v?[0-9]+\.[0-9]+\.[0-9]+([-.+][0-9A-Za-z.-]+)?')

.PHONY: images
# Each build writes the component that would pin its digests beside the images; only make
# release copies it into the prod overlay, so building dev images (TAG=dev) can never
# replace the release prod runs.
RELEASE      := deploy/k8s/overlays/prod/release/kustomization.yaml
BUILT        := dist/images/release.yaml
images: ## Build a static, non-root container image per service into dist/images, and dist/images/release.yaml pinning their digests
	@mkdir -p $(BIN)/linux dist/images
	@cd tools && GOWORK=off $(GO) build -o $(BIN)/mkimage ./cmd/mkimage
	@{ echo "# Written by make release REGISTRY=$(REGISTRY) TAG=$(TAG): each service's image by the"; \
	  echo "# digest of what was built. Push dist/images/*.tar, then commit this file."; \
	  echo "apiVersion: kustomize.config.k8s.io/v1alpha1"; echo "kind: Component"; echo "images:"; } > $(BUILT).tmp
	@for s in $(SERVICES); do \
	  (cd services/$$s && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/linux/$$s ./cmd/$$s); \
	  line=$$($(BIN)/mkimage -binary $(BIN)/linux/$$s -name $(REGISTRY)/$$s:$(TAG) -out dist/images/$$s.tar); \
	  echo "$$line"; \
	  echo "  - {name: technician-commitment/$$s, newName: $(REGISTRY)/$$s, digest: $${line##* }} # $(TAG)" >> $(BUILT).tmp; \
	done
	@mv $(BUILT).tmp $(BUILT)

.PHONY: release
# The images' digests go to the prod overlay's release component, which pins each image
# by digest (a tag can be moved; a digest names exactly what was built and pushed). The
# check is in make's own expansion, so it refuses before anything is built, even under -n.
release: ## make images for a release (TAG=<version>, never dev) and pin their digests in the prod overlay
	$(if $(RELEASE_TAG),,$(error make release needs TAG=<version> (such as TAG=1.4.0), not TAG=$(TAG): prod pins only a release's images))
	@$(MAKE) --no-print-directory images REGISTRY=$(REGISTRY) TAG=$(TAG)
	@cp $(BUILT) $(RELEASE)
	@echo "pinned in $(RELEASE): push dist/images/*.tar, then commit it"

.PHONY: clean
clean: ## Remove binaries (keeps .data)
	rm -rf $(BIN)
