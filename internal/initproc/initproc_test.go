package initproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berth/berth/internal/testutil"
)

// asInitEnv makes the test binary run Main with its arguments.
const asInitEnv = "BERTH_INITPROC_TEST_AS_INIT"

func TestMain(m *testing.M) {
	if os.Getenv(asInitEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// initCmd returns the test binary re-executed as the init for args. The
// timeout only keeps a broken init from hanging the test run.
func initCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), asInitEnv+"=1")
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if !errors.As(err, &ee) {
		t.Fatalf("run init: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("the init itself was killed by %v", ws.Signal())
	}
	return ee.ExitCode()
}

func TestExitCode(t *testing.T) {
	noExec := t.TempDir() + "/data.txt"
	if err := os.WriteFile(noExec, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"zero", []string{"--", "true"}, 0, ""},
		{"code", []string{"--", "sh", "-c", "exit 7"}, 7, ""},
		{"without dashes", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"killed", []string{"--", "sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"not found", []string{"--", "berth-no-such-command"}, 127, "berth-no-such-command"},
		{"not executable", []string{"--", noExec}, 126, noExec},
		{"no command", []string{"--"}, 2, "no command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := initCmd(t, c.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if got := exitCode(t, cmd.Run()); got != c.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", got, c.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("stderr %q does not mention %q", stderr.String(), c.stderr)
			}
		})
	}
}

func TestForwardsSIGTERM(t *testing.T) {
	cmd := initCmd(t, "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.01; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("child did not start: %q %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(t, cmd.Wait()); got != 42 {
		t.Fatalf("exit code %d, want 42 from the child's TERM trap", got)
	}
}

// An orphan re-parented to the init exits; the init must reap it, or it
// stays a zombie in /proc.
func TestReapsOrphans(t *testing.T) {
	cmd := initCmd(t, "--", "sh", "-c", orphanScript)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if got := exitCode(t, cmd.Run()); got != 0 {
		t.Fatalf("exit code %d: %s", got, stderr.String())
	}
}

// As PID 1 of a new pid namespace (how --init runs it) orphans come to the
// init without a subreaper, and the command's code still comes out.
func TestReapsOrphansAsPID1(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	script := `[ "$PPID" = 1 ] || { echo "init is pid $PPID, not 1" >&2; exit 97; }` + orphanScript + `exit 9`
	cmd := initCmd(t, "--", "sh", "-c", script)
	cmd.Args = append([]string{"unshare", "--pid", "--fork", "--mount-proc", os.Args[0]}, cmd.Args[1:]...)
	cmd.Path, _ = exec.LookPath("unshare")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if got := exitCode(t, cmd.Run()); got != 9 {
		t.Fatalf("exit code %d, want 9: %s", got, stderr.String())
	}
}

// orphanScript leaves an orphan that is re-parented to the init, lets it
// exit, and fails unless the init reaps it (a zombie stays in /proc).
const orphanScript = `
d=$(mktemp -d); mkfifo "$d/go"
sh -c 'cat "$1" >/dev/null & echo $! > "$2"' _ "$d/go" "$d/pid"
p=$(cat "$d/pid")
pp=$(grep '^PPid:' /proc/$p/status | tr -dc 0-9)
[ "$pp" = "$PPID" ] || { echo "orphan's parent is $pp, not the init $PPID" >&2; exit 98; }
echo > "$d/go"
i=0
while [ -e /proc/$p ]; do
	i=$((i+1)); [ $i -gt 2000 ] && { echo "orphan $p was not reaped: $(grep State /proc/$p/status)" >&2; exit 99; }
	sleep 0.01
done
rm -rf "$d"
`

// With a terminal on stdin (run -it --init) the command gets its own
// process group in the terminal's foreground, so Ctrl-C reaches it once.
func TestTerminalForeground(t *testing.T) {
	cmd := initCmd(t, "--", "sh", "-c",
		`set -- $(cat /proc/$$/stat); echo "pgrp=$5 tpgid=$8 init=$PPID"; [ "$5" = "$8" ] && [ "$5" != "$PPID" ]`)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out, _ := io.ReadAll(tty) // ends with EIO once the child side closes
	if got := exitCode(t, cmd.Wait()); got != 0 {
		t.Fatalf("command not in its own foreground process group: %s", out)
	}
}
