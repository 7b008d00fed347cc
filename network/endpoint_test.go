package network

import (
	"reflect"
	"testing"
)

func TestRefreshEndpoint(t *testing.T) {
	base := func() *epRecord {
		return &epRecord{Endpoint: Endpoint{ContainerName: "web", Aliases: []string{"www"}}, NetNSPath: "/ns/a"}
	}
	tests := []struct {
		name        string
		o           AttachOptions
		wantChanged bool
		want        *epRecord
	}{
		{name: "same", o: AttachOptions{NetNSPath: "/ns/a", ContainerName: "web", Aliases: []string{"www"}}, want: base()},
		{name: "nil aliases keep", o: AttachOptions{NetNSPath: "/ns/a"}, want: base()},
		{name: "new netns", o: AttachOptions{NetNSPath: "/ns/b"}, wantChanged: true,
			want: &epRecord{Endpoint: Endpoint{ContainerName: "web", Aliases: []string{"www"}}, NetNSPath: "/ns/b"}},
		{name: "renamed, new aliases", o: AttachOptions{NetNSPath: "/ns/a", ContainerName: "api", Aliases: []string{}}, wantChanged: true,
			want: &epRecord{Endpoint: Endpoint{ContainerName: "api"}, NetNSPath: "/ns/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base()
			if got := refreshEndpoint(e, tc.o); got != tc.wantChanged {
				t.Fatalf("changed = %v, want %v", got, tc.wantChanged)
			}
			if !reflect.DeepEqual(e, tc.want) {
				t.Fatalf("got %+v, want %+v", e, tc.want)
			}
		})
	}
}

func TestNextIfName(t *testing.T) {
	st := &state{Networks: map[string]*netRecord{
		"a": {Endpoints: map[string]*epRecord{"c1": {Endpoint: Endpoint{IfName: "eth0"}}}},
		"b": {Endpoints: map[string]*epRecord{"c1": {Endpoint: Endpoint{IfName: "eth2"}}, "c2": {Endpoint: Endpoint{IfName: "eth1"}}}},
	}}
	if got := nextIfName(st, "c1"); got != "eth1" {
		t.Fatalf("c1: %s, want eth1 (eth0 and eth2 taken)", got)
	}
	if got := nextIfName(st, "c3"); got != "eth0" {
		t.Fatalf("new container: %s, want eth0", got)
	}
}
