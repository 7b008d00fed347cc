package deptest

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/berth/berth/"

// forbidden lists, per package, the berth packages it must not depend on
// (directly or not).
var forbidden = map[string][]string{
	"runtime":     {"network", "dns", "volume", "image", "engine", "compose", "cmd/berth"},
	"network":     {"runtime", "dns", "volume", "image", "engine", "compose", "cmd/berth"},
	"dns":         {"runtime", "network", "volume", "image", "engine", "compose", "cmd/berth"},
	"volume":      {"runtime", "network", "dns", "image", "engine", "compose", "cmd/berth"},
	"image":       {"runtime", "network", "dns", "volume", "engine", "compose", "cmd/berth"},
	"image/build": {"runtime", "network", "dns", "volume", "engine", "compose", "cmd/berth"},
	"engine":      {"compose", "cmd/berth", "image/build"},
	// The monitor links engine; the Dockerfile parser stays out of it.
	"cmd/berth-monitor": {"image/build", "engine/builder", "compose"},
	"compose":           {"cmd/berth"},
	// The idle monitor lives as long as its container: it must stay small.
	"cmd/berth-monitor-idle": {"runtime", "network", "dns", "volume", "image", "engine", "compose", "cmd/berth", "cmd/berth-monitor"},
	"internal/conmon":        {"runtime", "network", "dns", "volume", "image", "engine", "compose", "cmd/berth"},
}

// heavy are third-party packages the idle monitor (and what it links) must
// not depend on: each brings megabytes of code, or init work, to a process
// that lives as long as its container.
var heavy = map[string][]string{
	"cmd/berth-monitor-idle": {
		"github.com/opencontainers/runc/libcontainer",
		"github.com/seccomp/libseccomp-golang",
		"github.com/opencontainers/cgroups",
		"github.com/compose-spec/",
		"github.com/spf13/cobra",
		"github.com/vishvananda/netlink",
		"github.com/containernetworking/",
		"net/http",
		"text/template",
	},
}

// TestCoreBuildSkipsCompose: the core build of berth (tag berthcore, what
// `make` installs as berth) must not link compose-go: its JSON-schema
// library compiles metaschemas at every start (cmd/berth/main_core.go).
func TestCoreBuildSkipsCompose(t *testing.T) {
	deps, err := goListDeps("seccomp netgo osusergo berthcore", "cmd/berth")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range withPrefix(deps, []string{"github.com/compose-spec/", "github.com/santhosh-tekuri/jsonschema", mod + "compose"}) {
		t.Errorf("the core build of cmd/berth depends on %s", d)
	}
	if len(deps) < 50 {
		t.Errorf("go list listed %d packages: %q", len(deps), deps)
	}
}

// goListDeps lists pkg (relative to the module root) and everything it
// depends on, built with tags.
func goListDeps(tags, pkg string) ([]string, error) {
	out, err := exec.Command("go", "list", "-tags", tags, "-deps", "./../../"+pkg).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", pkg, err, out)
	}
	return strings.Fields(string(out)), nil
}

// withPrefix returns the packages of deps that start with one of prefixes.
func withPrefix(deps, prefixes []string) []string {
	var out []string
	for _, d := range deps {
		for _, p := range prefixes {
			if strings.HasPrefix(d, p) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func TestIdleMonitorStaysSmall(t *testing.T) {
	for pkg, bad := range heavy {
		t.Run(pkg, func(t *testing.T) {
			deps, err := goListDeps("seccomp netgo osusergo", pkg)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range withPrefix(deps, bad) {
				t.Errorf("%s depends on %s; the idle monitor must stay small (see runtime/handover.go)", pkg, d)
			}
		})
	}
}

func TestDependencyDirection(t *testing.T) {
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			list, err := goListDeps("seccomp netgo osusergo", pkg)
			if err != nil {
				t.Skip(err)
			}
			deps := map[string]bool{}
			for _, l := range list {
				deps[l] = true
			}
			for _, b := range bad {
				if deps[mod+b] {
					t.Errorf("%s depends on %s; see DESIGN.md for the allowed direction", pkg, b)
				}
			}
			// Below compose, nothing may see compose-go types.
			if pkg != "compose" {
				for _, d := range withPrefix(list, []string{"github.com/compose-spec/"}) {
					t.Errorf("%s depends on %s; compose-go types stay inside compose/", pkg, d)
				}
			}
		})
	}
}
