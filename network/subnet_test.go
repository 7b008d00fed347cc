package network

import (
	"errors"
	"net"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDefaultPool(t *testing.T) {
	pool := defaultPool()
	if len(pool) != 15+16 {
		t.Fatalf("pool has %d subnets, want 31", len(pool))
	}
	for i, want := range map[int]string{0: "172.17.0.0/16", 14: "172.31.0.0/16", 15: "192.168.0.0/20", 16: "192.168.16.0/20", 30: "192.168.240.0/20"} {
		if got := pool[i].String(); got != want {
			t.Errorf("pool[%d] = %s, want %s", i, got, want)
		}
	}
}

func TestChooseSubnet(t *testing.T) {
	pool := []*net.IPNet{cidr(t, "172.17.0.0/16"), cidr(t, "172.18.0.0/16"), cidr(t, "192.168.0.0/20")}
	used := func(cidrs ...string) []usedNet {
		var u []usedNet
		for _, c := range cidrs {
			u = append(u, usedNet{net: cidr(t, c), what: "x " + c})
		}
		return u
	}
	tests := []struct {
		name            string
		subnet, gateway string
		used            []usedNet
		wantSubnet      string
		wantGateway     string
		wantErr         error
	}{
		{name: "first free", wantSubnet: "172.17.0.0/16", wantGateway: "172.17.0.1"},
		{name: "skips exact route", used: used("172.17.0.0/16"), wantSubnet: "172.18.0.0/16", wantGateway: "172.18.0.1"},
		{name: "skips smaller route inside", used: used("172.17.5.0/24"), wantSubnet: "172.18.0.0/16", wantGateway: "172.18.0.1"},
		{name: "skips larger route around", used: used("172.16.0.0/12"), wantSubnet: "192.168.0.0/20", wantGateway: "192.168.0.1"},
		{name: "host address inside", used: used("172.17.0.9/32", "172.18.3.0/24"), wantSubnet: "192.168.0.0/20", wantGateway: "192.168.0.1"},
		{name: "pool exhausted", used: used("0.0.0.0/1", "128.0.0.0/1"), wantErr: errdefs.ErrUnavailable},
		{name: "explicit", subnet: "10.99.0.0/24", wantSubnet: "10.99.0.0/24", wantGateway: "10.99.0.1"},
		{name: "explicit host bits cleared", subnet: "10.99.0.7/24", wantSubnet: "10.99.0.0/24", wantGateway: "10.99.0.1"},
		{name: "explicit gateway", subnet: "10.99.0.0/24", gateway: "10.99.0.254", wantSubnet: "10.99.0.0/24", wantGateway: "10.99.0.254"},
		{name: "explicit overlaps", subnet: "10.99.0.0/16", used: used("10.99.3.0/24"), wantErr: errdefs.ErrConflict},
		{name: "gateway outside", subnet: "10.99.0.0/24", gateway: "10.98.0.1", wantErr: errdefs.ErrInvalidArgument},
		{name: "gateway is broadcast", subnet: "10.99.0.0/24", gateway: "10.99.0.255", wantErr: errdefs.ErrInvalidArgument},
		{name: "gateway without subnet", gateway: "10.99.0.1", wantErr: errdefs.ErrInvalidArgument},
		{name: "ipv6 not supported", subnet: "fd00::/64", wantErr: errdefs.ErrInvalidArgument},
		{name: "too small", subnet: "10.99.0.0/31", wantErr: errdefs.ErrInvalidArgument},
		{name: "garbage", subnet: "nope", wantErr: errdefs.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sn, gw, err := chooseSubnet(tc.subnet, tc.gateway, pool, tc.used)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want class %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sn.String() != tc.wantSubnet || gw.String() != tc.wantGateway {
				t.Fatalf("got %s gw %s, want %s gw %s", sn, gw, tc.wantSubnet, tc.wantGateway)
			}
		})
	}
}

func TestAllocateIP(t *testing.T) {
	sn := cidr(t, "10.1.0.0/29") // hosts .1-.6, gateway .1
	gw := net.ParseIP("10.1.0.1")
	set := func(ips ...string) map[string]bool {
		m := map[string]bool{}
		for _, ip := range ips {
			m[ip] = true
		}
		return m
	}
	tests := []struct {
		name         string
		inUse        map[string]bool
		last, static string
		want         string
		wantErr      error
	}{
		{name: "first after gateway", want: "10.1.0.2"},
		{name: "after last", last: "10.1.0.3", want: "10.1.0.4"},
		{name: "skips in use", inUse: set("10.1.0.2", "10.1.0.3"), want: "10.1.0.4"},
		{name: "wraps skipping gateway", last: "10.1.0.6", inUse: set("10.1.0.2"), want: "10.1.0.3"},
		{name: "does not reuse just released", last: "10.1.0.2", want: "10.1.0.3"},
		{name: "full", inUse: set("10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"), wantErr: errdefs.ErrUnavailable},
		{name: "static", static: "10.1.0.5", want: "10.1.0.5"},
		{name: "static in use", static: "10.1.0.5", inUse: set("10.1.0.5"), wantErr: errdefs.ErrConflict},
		{name: "static gateway", static: "10.1.0.1", wantErr: errdefs.ErrConflict},
		{name: "static broadcast", static: "10.1.0.7", wantErr: errdefs.ErrInvalidArgument},
		{name: "static network address", static: "10.1.0.0", wantErr: errdefs.ErrInvalidArgument},
		{name: "static outside", static: "10.2.0.5", wantErr: errdefs.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip, err := allocateIP(sn, gw, tc.inUse, tc.last, tc.static)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want class %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ip.String() != tc.want {
				t.Fatalf("got %s, want %s", ip, tc.want)
			}
		})
	}
}

func TestMACFromIP(t *testing.T) {
	if got := macFromIP(net.ParseIP("172.17.0.2")).String(); got != "02:42:ac:11:00:02" {
		t.Fatalf("got %s, want Docker's 02:42:ac:11:00:02", got)
	}
}

func TestHostVethName(t *testing.T) {
	a, b := hostVeth("c1", "n1"), hostVeth("c1", "n2")
	if len(a) > 15 || a == b || a != hostVeth("c1", "n1") {
		t.Fatalf("host veth names %q %q: want stable, distinct, at most 15 bytes", a, b)
	}
}
