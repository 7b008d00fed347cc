package network_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berth/berth/network"
)

// TestForwardPolicyDrop runs berth inside a throwaway "host" namespace whose
// FORWARD policy is DROP, as Docker leaves it, with an "outside" namespace
// behind a veth standing in for the rest of the world. A container reaches
// the outside, masqueraded to the host's outside address; it does not reach
// a container on another berth network; and without the jump to berth's
// chain the outside is cut off too (so the chain is what let it through).
func TestForwardPolicyDrop(t *testing.T) {
	aux, _ := newManager(t)
	_, hostPath := newNetNS(t, aux)
	_, outsidePath := newNetNS(t, aux)
	m, _ := newManager(t)
	err := ns.WithNetNSPath(hostPath, func(ns.NetNS) error {
		return forwardPolicyDrop(t, m, outsidePath)
	})
	if err != nil {
		t.Fatal(err)
	}
}

const (
	outsideHost = "10.250.0.1" // the fake host's address towards the outside
	outsideIP   = "10.250.0.2"
)

func forwardPolicyDrop(t *testing.T, m *network.Manager, outsidePath string) error {
	ctx := context.Background()
	if err := iptablesHere("-P", "FORWARD", "DROP"); err != nil {
		return err
	}
	if err := linkOutside(outsidePath); err != nil {
		return err
	}
	serveRemoteAddr(t, outsidePath, net.JoinHostPort(outsideIP, "7300"))
	eps := map[string]*network.Endpoint{}
	paths := map[string]string{}
	for _, name := range []string{"left", "right"} {
		if _, err := m.Create(ctx, network.CreateOptions{Name: name}); err != nil {
			return err
		}
		id := randID(t)
		p, err := m.NewNetNS(ctx, id)
		if err != nil {
			return err
		}
		defer m.DeleteNetNS(ctx, id) // the fake host's devices and rules die with it
		if eps[name], err = m.Attach(ctx, network.AttachOptions{ContainerID: id, NetNSPath: p, Network: name}); err != nil {
			return err
		}
		paths[name] = p
	}
	out := net.JoinHostPort(outsideIP, "7300")
	if got, err := echoFrom(t, paths["left"], out, "hi"); err != nil || got != outsideHost {
		return fmt.Errorf("container -> outside: the outside saw %q (%v), want the masqueraded %s", got, err, outsideHost)
	}
	serveEcho(t, paths["right"], net.JoinHostPort(eps["right"].IP, "7301"))
	if got, err := echoFrom(t, paths["left"], net.JoinHostPort(eps["right"].IP, "7301"), "x"); err == nil {
		return fmt.Errorf("left reached right on another network: %q", got)
	}
	if err := iptablesHere("-D", "FORWARD", "-j", "BERTH-FORWARD"); err != nil {
		return err
	}
	if got, err := echoFrom(t, paths["left"], out, "hi"); err == nil {
		return fmt.Errorf("outside still reached without berth's chain (%q): the test proves nothing", got)
	}
	return nil
}

func iptablesHere(args ...string) error {
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %v: %v: %s", args, err, out)
	}
	return nil
}

// linkOutside connects the current (fake host) namespace to the outside
// namespace with a veth: outsideHost/24 here, outsideIP/24 there.
func linkOutside(outsidePath string) error {
	onsh, err := netns.GetFromPath(outsidePath)
	if err != nil {
		return err
	}
	defer onsh.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "out0", Flags: net.FlagUp}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(onsh))}
	if err := netlink.LinkAdd(veth); err != nil {
		return err
	}
	if err := netlink.AddrAdd(veth, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(outsideHost), Mask: net.CIDRMask(24, 32)}}); err != nil {
		return err
	}
	return ns.WithNetNSPath(outsidePath, func(ns.NetNS) error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(outsideIP), Mask: net.CIDRMask(24, 32)}}); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
}

// serveRemoteAddr answers every connection with the client address it sees.
func serveRemoteAddr(t *testing.T, path, addr string) {
	var ln net.Listener
	inNS(t, path, func() (err error) { ln, err = net.Listen("tcp4", addr); return err })
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				bufio.NewReader(c).ReadString('\n')
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				fmt.Fprintln(c, strings.TrimSpace(host))
			}()
		}
	}()
}
