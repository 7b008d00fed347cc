package network_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/berth/berth/network"
)

// TestForwardPolicyDrop runs berth inside a throwaway "host" namespace whose
// FORWARD policy is DROP, as Docker leaves it: containers on two berth
// networks still reach each other through the host thanks to berth's own
// chain, and stop doing so when the jump to that chain is removed.
func TestForwardPolicyDrop(t *testing.T) {
	hostMgr, _ := newManager(t)
	_, hostPath := newNetNS(t, hostMgr)
	m, _ := newManager(t)
	err := ns.WithNetNSPath(hostPath, func(ns.NetNS) error {
		return forwardPolicyDrop(t, m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func forwardPolicyDrop(t *testing.T, m *network.Manager) (err error) {
	ctx := context.Background()
	ipt := func(args ...string) error {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := ipt("-P", "FORWARD", "DROP"); err != nil {
		return err
	}
	var ids []string
	defer func() { // inside the fake host: its bridges and rules die with it
		for _, id := range ids {
			m.DetachAll(ctx, id)
			m.DeleteNetNS(ctx, id)
		}
	}()
	eps := map[string]*network.Endpoint{}
	paths := map[string]string{}
	for _, name := range []string{"left", "right"} {
		if _, err := m.Create(ctx, network.CreateOptions{Name: name}); err != nil {
			return err
		}
		id := randID(t)
		ids = append(ids, id)
		p, err := m.NewNetNS(ctx, id)
		if err != nil {
			return err
		}
		ep, err := m.Attach(ctx, network.AttachOptions{ContainerID: id, NetNSPath: p, Network: name})
		if err != nil {
			return err
		}
		eps[name], paths[name] = ep, p
	}
	addr := net.JoinHostPort(eps["right"].IP, "7200")
	serveEcho(t, paths["right"], addr)
	if got, err := echoFrom(t, paths["left"], addr, "across"); err != nil || got != "across" {
		return fmt.Errorf("left -> right through a FORWARD=DROP host: %q, %v", got, err)
	}
	if err := ipt("-D", "FORWARD", "-j", "BERTH-FORWARD"); err != nil {
		return err
	}
	if got, err := echoFrom(t, paths["left"], addr, "dropped"); err == nil {
		return fmt.Errorf("traffic still forwarded without berth's chain (%q): the test proves nothing", got)
	}
	return nil
}
