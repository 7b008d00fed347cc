package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runBerthVolume runs the command tree in-process with its own root.
func runBerthVolume(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	*theGlobals = globals{}
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(append([]string{"--root", root}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestVolumeCLI(t *testing.T) {
	root := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := runBerthVolume(t, root, args...)
		if err != nil {
			t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	if out := run("volume", "create", "--label", "env=prod", "--label", "tier", "web-data"); out != "web-data\n" {
		t.Fatalf("create printed %q", out)
	}
	anon := strings.TrimSpace(run("volume", "create"))
	if len(anon) != 64 {
		t.Fatalf("anonymous name %q", anon)
	}
	run("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=64m", "scratch")

	if out := run("volume", "ls"); !strings.HasPrefix(out, "DRIVER    VOLUME NAME\n") || !strings.Contains(out, "local     web-data\n") {
		t.Fatalf("ls table:\n%s", out)
	}
	cases := []struct {
		filter string
		want   string
	}{
		{"label=env=prod", "web-data\n"},
		{"label=tier", "web-data\n"},
		{"label!=env", anon + "\nscratch\n"},
		{"name=scr", "scratch\n"},
		{"dangling=true", anon + "\nscratch\nweb-data\n"},
	}
	for _, c := range cases {
		if out := run("volume", "ls", "-q", "--filter", c.filter); out != c.want {
			t.Errorf("ls --filter %s: %q, want %q", c.filter, out, c.want)
		}
	}
	if out := run("volume", "ls", "--format", "{{.Name}} {{.Label \"env\"}}", "--filter", "name=web"); out != "web-data prod\n" {
		t.Errorf("ls --format: %q", out)
	}

	var insp []map[string]any
	if err := json.Unmarshal([]byte(run("volume", "inspect", "web-data", "scratch")), &insp); err != nil {
		t.Fatal(err)
	}
	if len(insp) != 2 || insp[0]["Name"] != "web-data" || insp[0]["Scope"] != "local" || insp[0]["Driver"] != "local" ||
		insp[0]["Labels"].(map[string]any)["env"] != "prod" || insp[1]["Options"].(map[string]any)["o"] != "size=64m" {
		t.Fatalf("inspect: %v", insp)
	}
	if out := run("volume", "inspect", "--format", "{{.Name}}={{index .Labels \"env\"}}", "web-data"); out != "web-data=prod\n" {
		t.Errorf("inspect --format: %q", out)
	}
	if _, err := runBerthVolume(t, root, "volume", "inspect", "missing"); err == nil || !strings.Contains(err.Error(), `volume "missing": not found`) {
		t.Errorf("inspect missing: %v", err)
	}

	// Prune without --force asks; an empty answer removes nothing.
	run("volume", "prune")
	if out := run("volume", "ls", "-q"); strings.Count(out, "\n") != 3 {
		t.Fatalf("prune without confirmation removed volumes: %q", out)
	}
	if out := run("volume", "prune", "--force"); !strings.Contains(out, "Deleted Volumes:\n"+anon+"\n") {
		t.Fatalf("prune: %q", out)
	}
	if out := run("volume", "prune", "--force", "--all", "--filter", "label=env=prod"); !strings.Contains(out, "web-data") || strings.Contains(out, "scratch") {
		t.Fatalf("prune --all with label filter: %q", out)
	}
	if out := run("volume", "rm", "scratch"); out != "scratch\n" {
		t.Fatalf("rm printed %q", out)
	}
	if _, err := runBerthVolume(t, root, "volume", "rm", "scratch"); err == nil {
		t.Fatal("rm of a missing volume succeeded")
	}
	run("volume", "rm", "--force", "scratch")
	if out := run("volume", "ls", "-q"); out != "" {
		t.Fatalf("volumes left: %q", out)
	}
}

func TestVolumeCLIInUse(t *testing.T) {
	root := t.TempDir()
	saved := volumeInUse
	t.Cleanup(func() { volumeInUse = saved })
	volumeInUse = func(*globals) func(string) bool { return func(n string) bool { return n == "busy" } }
	if _, err := runBerthVolume(t, root, "volume", "create", "busy"); err != nil {
		t.Fatal(err)
	}
	_, err := runBerthVolume(t, root, "volume", "rm", "busy")
	if err == nil || !strings.Contains(err.Error(), `volume "busy" is in use`) {
		t.Fatalf("rm of a volume in use: %v", err)
	}
	if out, _ := runBerthVolume(t, root, "volume", "ls", "-q", "--filter", "dangling=false"); out != "busy\n" {
		t.Fatalf("dangling=false: %q", out)
	}
	if out, _ := runBerthVolume(t, root, "volume", "prune", "--force", "--all"); strings.Contains(out, "busy") {
		t.Fatalf("prune removed a volume in use: %q", out)
	}
}
