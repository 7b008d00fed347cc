package testutil

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequiresRoot skips the test unless it runs as root.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (namespaces, mounts, cgroups); run as root or in CI")
	}
	if testing.Short() {
		t.Skip("skipping integration test in -short mode")
	}
}

// TempRoot returns a fresh, short directory for a test's berth root (unix
// socket paths under it must stay below 108 bytes) and removes it at the
// end of the test.
func TempRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "bt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Unmount anything a failed test left mounted below dir, then remove it.
		exec.Command("sh", "-c", fmt.Sprintf("grep ' %s' /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l", dir)).Run()
		os.RemoveAll(dir)
	})
	return dir
}

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

var (
	tarOnce sync.Once
	tarData []byte
	tarErr  error
)

// BusyboxTar returns a rootfs tarball with a static busybox in /bin, every
// applet linked to it, and /etc/passwd and /etc/group. It skips the test when
// busybox-static is not installed.
func BusyboxTar(t testing.TB) []byte {
	t.Helper()
	tarOnce.Do(func() { tarData, tarErr = buildBusyboxTar() })
	if tarErr != nil {
		if os.IsNotExist(tarErr) {
			t.Skipf("skipping: %s missing (apt-get install busybox-static)", BusyboxPath)
		}
		t.Fatal(tarErr)
	}
	return tarData
}

// BusyboxTarFile writes BusyboxTar to a file in the test's temp dir and
// returns its path.
func BusyboxTarFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(p, BusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// BusyboxRootfs unpacks the busybox rootfs into a temp dir and returns it.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	data := BusyboxTar(t)
	dir := t.TempDir()
	cmd := exec.Command("tar", "-x", "-C", dir)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("untar busybox: %v: %s", err, out)
	}
	return dir
}

// Passwd and Group are the busybox image's /etc/passwd and /etc/group.
const (
	Passwd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
	Group  = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\nuser:x:1000:\n"
)

func buildBusyboxTar() ([]byte, error) {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(BusyboxPath, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list-full: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
		tw.Write(data)
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "home/user", "tmp", "proc", "sys", "dev", "var", "var/www", "run"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		dir(d, mode)
	}
	file("bin/busybox", 0o755, bb)
	seen := map[string]bool{"bin/busybox": true}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name := strings.TrimPrefix(strings.TrimSpace(l), "/")
		if name == "" || seen[name] || filepath.Base(name) == "busybox" {
			continue
		}
		seen[name] = true
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: "/bin/busybox", Mode: 0o777})
	}
	file("etc/passwd", 0o644, []byte(Passwd))
	file("etc/group", 0o644, []byte(Group))
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WaitLinksGone waits (up to d) until none of the named network devices of
// the host exists and returns those still there. Removing a container drops
// its network namespace and the kernel deletes the veths in it in the
// background, some milliseconds later: a leak check must give it that time.
func WaitLinksGone(names []string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var left []string
		for _, n := range names {
			if _, err := os.Stat("/sys/class/net/" + n); err == nil {
				left = append(left, n)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		names = left
		time.Sleep(20 * time.Millisecond)
	}
}
