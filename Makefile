# berth: build, test, demo, bench.
GO        ?= go
TAGS      := seccomp netgo osusergo
# berth is linked statically so the same binary can serve as --init inside
# any container (bind-mounted at /sbin/berth-init).
LDFLAGS   := -s -w -extldflags -static
BIN       := bin/berth
PREFIX    ?= /usr/local
export CGO_ENABLED := 1

.PHONY: all deps build install test unit lint demo bench clean

all: build

# deps installs the Debian packages and tools the build, tests and demo need.
deps:
	@.ci/deps.sh

# bin/berth-monitor is the per-container monitor (and libcontainer init)
# berth uses when it sits next to it; without it berth serves itself. Once
# a container runs, its monitor execs bin/berth-monitor-idle (when it sits
# next to the monitor), a far smaller binary, for as long as it runs.
#
# bin/berth is the core build (tag berthcore): the container, image,
# volume, network and system commands, without compose-go, so it starts in
# a third of the time. It hands the project commands, help and completion to
# bin/berth-compose next to it, the full build (cmd/berth/main_core.go).
build:
	$(GO) build -tags "$(TAGS) berthcore" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/berth
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)-compose ./cmd/berth
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)-monitor ./cmd/berth-monitor
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)-monitor-idle ./cmd/berth-monitor-idle

install: build
	install -m 0755 $(BIN) $(PREFIX)/bin/berth
	install -m 0755 $(BIN)-compose $(PREFIX)/bin/berth-compose
	install -m 0755 $(BIN)-monitor $(PREFIX)/bin/berth-monitor
	install -m 0755 $(BIN)-monitor-idle $(PREFIX)/bin/berth-monitor-idle

# Unit tests run anywhere; integration and e2e tests need root and skip
# without it. BERTH_BIN points the e2e tests at the binary just built.
test: deps build lint
	BERTH_BIN=$(CURDIR)/$(BIN) $(GO) test -tags "$(TAGS)" -p 2 -timeout 40m -count=1 ./...

unit:
	$(GO) test -tags "$(TAGS)" -short -count=1 ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet -tags "$(TAGS)" ./...
	$(GO) vet -tags "$(TAGS) berthcore" ./cmd/berth
	@if command -v staticcheck >/dev/null; then staticcheck -tags "$(TAGS)" ./... && staticcheck -tags "$(TAGS) berthcore" ./cmd/berth; \
	 elif [ -x "$$($(GO) env GOPATH)/bin/staticcheck" ]; then "$$($(GO) env GOPATH)/bin/staticcheck" -tags "$(TAGS)" ./... && "$$($(GO) env GOPATH)/bin/staticcheck" -tags "$(TAGS) berthcore" ./cmd/berth; \
	 else echo "staticcheck not installed (go install honnef.co/go/tools/cmd/staticcheck@latest)"; fi

# demo: build berth, make the busybox base image, run the bundled hello project.
demo: deps build
	./examples/demo.sh

bench: build
	BERTH_BIN=$(CURDIR)/$(BIN) ./bench/run.sh

clean:
	rm -rf bin

# example images
# example-images: make busybox, app-redis (debootstrap, cached under
# /var/cache/berth-examples) and app-web (static Go) and import them into the
# default root (BERTH_ROOT honoured). example-smoke: run every example end to
# end (EXAMPLES=app to pick some).
EXAMPLES ?= hello app profiles
.PHONY: example-images example-smoke
example-images: build
	./examples/images.sh $(CURDIR)/$(BIN)

example-smoke: example-images
	@for ex in $(EXAMPLES); do ./examples/smoke.sh $$ex $(CURDIR)/$(BIN) || exit 1; done
