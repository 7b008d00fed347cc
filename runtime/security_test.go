package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// output runs spec to completion and returns its exit code and stdout+stderr.
func output(t *testing.T, m *Manager, spec Spec) (int, string) {
	t.Helper()
	c := run(t, m, spec)
	code := waitExit(t, m, c.ID)
	out, errs := logs(t, m, c.ID)
	return code, out + errs
}

func TestDefaultSecurity(t *testing.T) {
	m, layers := newTestManager(t)
	cases := []struct {
		name   string
		script string
		want   string
		code   int
	}{
		{"capeff", "grep CapEff /proc/self/status", "CapEff:\t00000000a80425fb", 0},
		{"capamb", "grep CapAmb /proc/self/status", "CapAmb:\t0000000000000000", 0},
		{"keys masked", "wc -c < /proc/keys", "0", 0},
		{"timer_list masked", "wc -c < /proc/timer_list", "0", 0},
		{"proc sys ro", "echo 1 > /proc/sys/kernel/domainname && echo WROTE", "Read-only file system", 1},
		{"no mount", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && echo MOUNTED", "denied", 1},
		{"seccomp", "grep Seccomp: /proc/self/status", "Seccomp:\t2", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := output(t, m, testSpec(layers, "sh", "-c", tc.script))
			if code != tc.code && !(tc.code == 1 && code != 0) {
				t.Errorf("exit %d, want %d; output %q", code, tc.code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output %q does not contain %q", out, tc.want)
			}
			if strings.Contains(out, "WROTE") || strings.Contains(out, "MOUNTED") {
				t.Errorf("forbidden operation succeeded: %q", out)
			}
		})
	}
}

func TestOnlyOwnProcesses(t *testing.T) {
	m, layers := newTestManager(t)
	_, out := output(t, m, testSpec(layers, "sh", "-c", "ls -d /proc/[0-9]* | wc -l"))
	if strings.TrimSpace(out) != "2" && strings.TrimSpace(out) != "3" {
		t.Fatalf("container sees %s processes (want its own 2-3)", strings.TrimSpace(out))
	}
}

func TestReadOnlyRootfs(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "touch /x && echo WROTE")
	spec.Rootfs.ReadOnly = true
	code, out := output(t, m, spec)
	if code == 0 || strings.Contains(out, "WROTE") || !strings.Contains(out, "Read-only") {
		t.Fatalf("read-only rootfs accepted a write: exit %d %q", code, out)
	}
}

func TestCapDropAndPrivileged(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "grep CapEff /proc/self/status")
	spec.Security.CapDrop = []string{"ALL"}
	spec.Security.CapAdd = []string{"chown", "CAP_KILL"}
	_, out := output(t, m, spec)
	if !strings.Contains(out, "CapEff:\t0000000000000021") {
		t.Fatalf("cap-drop ALL + chown,kill: %q", out)
	}
	spec = testSpec(layers, "sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && echo MOUNTED; test -c /dev/kmsg && echo DEVICES")
	spec.Security.Privileged = true
	if code, out := output(t, m, spec); code != 0 || !strings.Contains(out, "MOUNTED") || !strings.Contains(out, "DEVICES") {
		t.Fatalf("privileged cannot mount or lacks host devices: %d %q", code, out)
	}
	spec = testSpec(layers, "sh", "-c", "grep NoNewPrivs /proc/self/status; test -e /dev/kmsg && echo DEVICES")
	spec.Security.NoNewPrivileges = true
	if _, out := output(t, m, spec); !strings.Contains(out, "NoNewPrivs:\t1") || strings.Contains(out, "DEVICES") {
		t.Fatalf("no-new-privileges: %q", out)
	}
}

func TestUserCwdEnvHostname(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", `echo "$(id -u):$(id -g) $(pwd) $HOSTNAME $(hostname) $FOO $HOME"`)
	spec.Process.User = "user"
	spec.Process.Cwd = "/work/dir"
	spec.Process.Env = []string{"FOO=bar"}
	spec.Hostname = "box"
	_, out := output(t, m, spec)
	if strings.TrimSpace(out) != "1000:1000 /work/dir box box bar /home/user" {
		t.Fatalf("got %q", out)
	}
}

func TestResources(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max")
	spec.Resources.NanoCPUs = 5e8
	if _, out := output(t, m, spec); strings.TrimSpace(out) != "50000" {
		t.Fatalf("cpu quota %q, want 50000", out)
	}
	spec = testSpec(layers, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; wait; echo DONE")
	spec.Resources.PidsLimit = 5
	code, out := output(t, m, spec)
	if !strings.Contains(out, "fork") && !strings.Contains(out, "Resource") {
		t.Fatalf("pids limit 5 let 10 sleeps run: exit %d %q", code, out)
	}
}

func TestOOMKilled(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "x=a; while true; do x=$x$x$x$x; done")
	spec.Resources.Memory = 32 << 20
	c := run(t, m, spec)
	if code := waitExit(t, m, c.ID); code != 137 {
		t.Fatalf("exit %d, want 137", code)
	}
	got, _ := m.Get(context.Background(), c.ID)
	if !got.State.OOMKilled {
		t.Fatalf("OOMKilled false: %+v", got.State)
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sleep", "100")
	spec.Resources.Memory = 64 << 20
	c := run(t, m, spec)
	got, _ := m.Get(context.Background(), c.ID)
	pid := got.State.Pid
	if err := m.Remove(context.Background(), c.ID, RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, m, c.ID, pid)
}

// assertGone checks that nothing of container id is left on the host.
func assertGone(t *testing.T, m *Manager, id string, pid int) {
	t.Helper()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, m.opts.Root) || strings.Contains(l, m.opts.RunRoot) {
			t.Errorf("mount left: %s", l)
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/berth/" + id)
	dirs2, _ := filepath.Glob("/sys/fs/cgroup/berth/" + id)
	if len(dirs)+len(dirs2) > 0 {
		t.Errorf("cgroups left: %v %v", dirs, dirs2)
	}
	if pid > 0 {
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("process %d still alive", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, d := range []string{m.dir(id), m.runDir(id), m.lcDir(id)} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left", d)
		}
	}
}

func TestSeccompProfileFile(t *testing.T) {
	m, layers := newTestManager(t)
	profile := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644)
	spec := testSpec(layers, "sh", "-c", "mkdir /tmp/d && echo MADE")
	spec.Security.Seccomp = profile
	if code, out := output(t, m, spec); code == 0 || strings.Contains(out, "MADE") {
		t.Fatalf("profile not applied: %d %q", code, out)
	}
	spec.Security.Seccomp = "unconfined"
	spec.Process.Args = []string{"sh", "-c", "grep Seccomp: /proc/self/status"}
	if _, out := output(t, m, spec); !strings.Contains(out, "Seccomp:\t0") {
		t.Fatalf("unconfined: %q", out)
	}
}
