package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/network"
)

func TestNetworkInspectFormat(t *testing.T) {
	id := strings.Repeat("ef", 32)
	n := &network.Network{ID: id, Name: "back", Driver: "bridge", Subnet: "10.89.0.0/24", Gateway: "10.89.0.1",
		Bridge: "br-test", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Labels: map[string]string{"env": "<prod>"}}
	eps := []network.Endpoint{{ContainerID: "c1", ContainerName: "web", IP: "10.89.0.2", PrefixLen: 24, MAC: "02:42:0a:59:00:02"}}
	doc := networkInspectDoc(n, eps)
	cases := []struct{ name, format, want string }{
		{"docker's json name", "{{.Id}}", id + "\n"},
		{"go field name", "{{.ID}}", id + "\n"},
		{"nested", "{{.Name}} {{(index .IPAM.Config 0).Subnet}} {{.Labels.env}}", "back 10.89.0.0/24 <prod>\n"},
		{"json name with an endpoint", `{{.Id}} {{range $k, $v := .Containers}}{{$k}}={{$v.IPv4Address}}{{end}}`, id + " c1=10.89.0.2/24\n"},
		{"json", "json", `"Id": "` + id + `"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := format.Inspect(&b, tc.format, []any{doc}); err != nil {
				t.Fatal(err)
			}
			if tc.format == "json" {
				if !strings.Contains(b.String(), tc.want) || !strings.HasPrefix(b.String(), "[\n    {\n") {
					t.Errorf("got %s", b.String())
				}
				return
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}

func TestNetworkLsTable(t *testing.T) {
	nets := []*network.Network{
		{ID: strings.Repeat("ab", 32), Name: "bridge", Driver: "bridge"},
		{ID: strings.Repeat("cd", 32), Name: "shop_default", Driver: "bridge", Labels: map[string]string{"a": "1"}},
	}
	cases := []struct{ name, format, want string }{
		{"default", "", "NETWORK ID     NAME           DRIVER   SCOPE\nabababababab   bridge         bridge   local\ncdcdcdcdcdcd   shop_default   bridge   local\n"},
		{"table template", `table {{.Name}}\t{{.ID}}`, "NAME           NETWORK ID\nbridge         abababababab\nshop_default   cdcdcdcdcdcd\n"},
		{"template", `{{.Name}} {{.Label "a"}}`, "bridge \nshop_default 1\n"},
		{"json", "json", `{"ID":"abababababab","Name":"bridge","Driver":"bridge","Scope":"local","CreatedAt":"0001-01-01 00:00:00 +0000 UTC","IPv6":false,"Internal":false,"Labels":""}` + "\n" +
			`{"ID":"cdcdcdcdcdcd","Name":"shop_default","Driver":"bridge","Scope":"local","CreatedAt":"0001-01-01 00:00:00 +0000 UTC","IPv6":false,"Internal":false,"Labels":"a=1"}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := networkPrintList(&b, nets, networkLsFlags{Format: tc.format}); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
