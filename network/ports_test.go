package network

import (
	"errors"
	"reflect"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestParsePorts(t *testing.T) {
	pm := func(ip string, host, ctr int, proto string) PortMapping {
		return PortMapping{HostIP: ip, HostPort: host, ContainerPort: ctr, Proto: proto}
	}
	tests := []struct {
		spec    string
		want    []PortMapping
		wantErr bool
	}{
		{spec: "80", want: []PortMapping{pm("", 0, 80, "tcp")}},
		{spec: "8080:80", want: []PortMapping{pm("", 8080, 80, "tcp")}},
		{spec: "127.0.0.1:18080:8080", want: []PortMapping{pm("127.0.0.1", 18080, 8080, "tcp")}},
		{spec: "127.0.0.1::80", want: []PortMapping{pm("127.0.0.1", 0, 80, "tcp")}},
		{spec: "53:53/udp", want: []PortMapping{pm("", 53, 53, "udp")}},
		{spec: "53/UDP", want: []PortMapping{pm("", 0, 53, "udp")}},
		{spec: "[::1]:8080:80", want: []PortMapping{pm("::1", 8080, 80, "tcp")}},
		{spec: "[::1]::80/udp", want: []PortMapping{pm("::1", 0, 80, "udp")}},
		{spec: "8000-8001:80-81", want: []PortMapping{pm("", 8000, 80, "tcp"), pm("", 8001, 81, "tcp")}},
		{spec: "80-82", want: []PortMapping{pm("", 0, 80, "tcp"), pm("", 0, 81, "tcp"), pm("", 0, 82, "tcp")}},
		{spec: "0.0.0.0:9000-9001:9000-9001/udp", want: []PortMapping{pm("0.0.0.0", 9000, 9000, "udp"), pm("0.0.0.0", 9001, 9001, "udp")}},
		{spec: "8000-8002:80-81", wantErr: true},
		{spec: "81-80", wantErr: true},
		{spec: "0", wantErr: true},
		{spec: "65536", wantErr: true},
		{spec: "http", wantErr: true},
		{spec: "80/sctp", wantErr: true},
		{spec: "999.0.0.1:80:80", wantErr: true},
		{spec: "::1:80:80", wantErr: true},
		{spec: "[::1]80", wantErr: true},
		{spec: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParsePorts([]string{tc.spec})
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("ParsePorts(%q) err = %v, want an invalid-argument error", tc.spec, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePorts(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestPortMappingString(t *testing.T) {
	if got := (PortMapping{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}).String(); got != "0.0.0.0:8080->80/tcp" {
		t.Fatalf("got %q", got)
	}
	if got := (PortMapping{HostIP: "::1", HostPort: 53, ContainerPort: 53, Proto: "udp"}).String(); got != "[::1]:53->53/udp" {
		t.Fatalf("got %q", got)
	}
}
