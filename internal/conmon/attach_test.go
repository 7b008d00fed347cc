package conmon

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keep holds the pre-handover objects, whose descriptors the resumed
// server now shares, away from finalizers for the test binary's life.
var keep []any

// TestServerHandover hands a serving attach server with a connected client
// over by descriptor, as across the monitor's exec, and checks that the
// client's session carries on: output reaches it, its input reaches the
// process, and the end of the run reaches it with the exit code.
func TestServerHandover(t *testing.T) {
	dir := t.TempDir()
	logf, err := OpenLog(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdio Stdio
	stdio.SetStdin(stdinW)
	ln, err := Listen(filepath.Join(dir, "attach.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ln, nil, logf, &stdio, true)
	client, err := net.Dial("unix", filepath.Join(dir, "attach.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		srv.mu.Lock()
		n := len(srv.clients)
		srv.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client never registered")
		}
		time.Sleep(time.Millisecond)
	}

	lnFD, clientFDs, err := srv.Handover()
	if err != nil || len(clientFDs) != 1 {
		t.Fatalf("Handover = %d, %v, %v", lnFD, clientFDs, err)
	}
	keep = append(keep, srv, ln)
	var stdio2 Stdio
	stdio2.SetStdin(stdinW)
	srv2, err := ResumeServer(lnFD, clientFDs, logf, &stdio2, true)
	if err != nil {
		t.Fatal(err)
	}

	logf.CopyStream("stdout", strings.NewReader("hello\n"))
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if id, p, err := ReadFrame(client, nil); err != nil || id != FrameStdout || string(p) != "hello\n" {
		t.Fatalf("after handover, client read %d %q %v; want stdout \"hello\\n\"", id, p, err)
	}
	if err := WriteFrame(client, FrameStdin, []byte("in")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	stdinR.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := stdinR.Read(buf); err != nil || string(buf) != "in" {
		t.Fatalf("stdin got %q, %v; want \"in\"", buf, err)
	}
	if told := srv2.EndRun(3); told != 1 {
		t.Errorf("EndRun told %d clients, want 1", told)
	}
	id, p, err := ReadFrame(client, nil)
	if err != nil || id != FrameExit || len(p) != 4 || binary.BigEndian.Uint32(p) != 3 {
		t.Fatalf("end of run: %d %v %v; want exit frame with 3", id, p, err)
	}
	if _, _, err := ReadFrame(client, nil); err == nil {
		t.Fatal("session still open after EndRun")
	}
	if told := srv2.EndRun(4); told != 0 {
		t.Errorf("a second EndRun told %d clients, want none", told)
	}
	srv2.Close()
}
