package network

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

// echoTCP serves a line echo on addr until the test ends and returns its port.
func echoTCP(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func roundTrip(t *testing.T, network, addr, msg string) string {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s %s: %v", network, addr, err)
	}
	return strings.TrimSpace(line)
}

func TestPublishPortsLoopbackTCP(t *testing.T) {
	ctrPort := echoTCP(t, "127.0.0.1:0")
	cl, got, err := PublishPorts(context.Background(), []PortMapping{{HostIP: "127.0.0.1", ContainerPort: ctrPort, Proto: "tcp"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if len(got) != 1 || got[0].HostPort == 0 || got[0].HostPort == ctrPort {
		t.Fatalf("mappings %+v: want one with the ephemeral host port filled in", got)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(got[0].HostPort))
	if r := roundTrip(t, "tcp", addr, "hello"); r != "hello" {
		t.Fatalf("echo through proxy = %q", r)
	}
	cl.Close()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s still accepts after Close", addr)
	}
}

func TestPublishPortsUDP(t *testing.T) {
	srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	ctrPort := srv.LocalAddr().(*net.UDPAddr).Port
	cl, got, err := PublishPorts(context.Background(), []PortMapping{{HostIP: "127.0.0.1", ContainerPort: ctrPort, Proto: "udp"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(got[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "re:ping\n" {
		t.Fatalf("udp reply %q, %v", line, err)
	}
}

func TestPublishPortsConflict(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	// A free port that the failed call must not leave bound.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := probe.Addr().(*net.TCPAddr).Port
	probe.Close()

	ports := []PortMapping{
		{HostIP: "127.0.0.1", HostPort: freePort, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: busyPort, ContainerPort: 81, Proto: "tcp"},
	}
	_, _, err = PublishPorts(context.Background(), ports, "127.0.0.1")
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	want := "bind 127.0.0.1:" + strconv.Itoa(busyPort) + "/tcp: port is already in use"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want it to name the port: %q", err, want)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort)))
	if err != nil {
		t.Fatalf("port %d left bound after the failed publish: %v", freePort, err)
	}
	l.Close()
}

func TestPublishPortsAllAddressesConflictsWithLoopback(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	_, _, err = PublishPorts(context.Background(), []PortMapping{{HostPort: port, ContainerPort: 80, Proto: "tcp"}}, "127.0.0.1")
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "0.0.0.0:"+strconv.Itoa(port)+"/tcp") {
		t.Fatalf("err = %v, want ErrConflict naming 0.0.0.0:%d/tcp", err, port)
	}
}
