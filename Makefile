# envwick — see README.md. Every target works on a fresh machine.
GO ?= go
export GOTOOLCHAIN := local
BIN := bin/envwick

.PHONY: all build run test e2e bench lint schema docs tidy clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/envwick

# The whole system on embedded defaults: nothing to configure.
run: build
	./$(BIN) dev

test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# Regenerate the JSON Schema of environment files from the Go types in envs/.
schema:
	$(GO) run ./schemas/gen -envs envs -o schemas/environment.schema.json

# End-to-end tests against the real peers (Mattermost Cloud provisioner,
# Mattermost server, PostgreSQL), built once and cached: see docs/e2e.md.
e2e:
	bash e2e/run.sh

# Speed goals are checked by benchmarks, never by timed tests; the figures
# and the commands that measured them are in docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s $$($(GO) list ./... | grep -v '/reconciler$$')
	# The reconciler's fleet benchmarks build 10,000 environments first: one run each.
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem -timeout 60m ./reconciler/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Rewrite the command tables of docs/chat-bot.md and docs/github-bot.md from
# the bots' command registries (a test fails while they differ).
docs:
	ENVWICK_UPDATE_DOCS=1 $(GO) test -count=1 -run 'TestDocsCommandTables?$$' ./bots/mattermost ./bots/github ./bots/github/automation

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin .cache
