package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/image"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

func TestMergeProcess(t *testing.T) {
	img := image.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}, Env: []string{"PATH=/bin", "A=img"},
		WorkingDir: "/app", User: "daemon"}
	tests := []struct {
		name     string
		cfg      ContainerConfig
		ic       image.ImageConfig
		wantArgs []string
		wantEnv  []string
		wantCwd  string
		wantUser string
		wantErr  string
	}{
		{"image defaults", ContainerConfig{}, img, []string{"/entry", "serve"}, []string{"PATH=/bin", "A=img"}, "/app", "daemon", ""},
		{"cmd replaces cmd", ContainerConfig{Cmd: []string{"x"}}, img, []string{"/entry", "x"}, nil, "/app", "daemon", ""},
		{"entrypoint drops image cmd", ContainerConfig{EntrypointSet: true, Entrypoint: []string{"/bin/sh"}}, img, []string{"/bin/sh"}, nil, "", "", ""},
		{"empty entrypoint", ContainerConfig{EntrypointSet: true, Cmd: []string{"echo", "hi"}}, img, []string{"echo", "hi"}, nil, "", "", ""},
		{"env override and add", ContainerConfig{Env: []string{"A=mine", "B=2"}, User: "1000:1000", WorkingDir: "/w"}, img, nil,
			[]string{"PATH=/bin", "A=mine", "B=2"}, "/w", "1000:1000", ""},
		{"default path and cwd", ContainerConfig{Cmd: []string{"true"}}, image.ImageConfig{}, []string{"true"},
			[]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "/", "", ""},
		{"no command", ContainerConfig{}, image.ImageConfig{}, nil, nil, "", "", "no command specified"},
		{"relative workdir", ContainerConfig{Cmd: []string{"x"}, WorkingDir: "rel"}, image.ImageConfig{}, nil, nil, "", "", "must be an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec runtime.Spec
			d := &containerData{}
			err := mergeProcess(&spec, d, tt.cfg, tt.ic)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			p := spec.Process
			if tt.wantArgs != nil && !reflect.DeepEqual(p.Args, tt.wantArgs) {
				t.Errorf("args %q, want %q", p.Args, tt.wantArgs)
			}
			if tt.wantEnv != nil && !reflect.DeepEqual(p.Env, tt.wantEnv) {
				t.Errorf("env %q, want %q", p.Env, tt.wantEnv)
			}
			if tt.wantCwd != "" && p.Cwd != tt.wantCwd {
				t.Errorf("cwd %q, want %q", p.Cwd, tt.wantCwd)
			}
			if tt.wantUser != "" && p.User != tt.wantUser {
				t.Errorf("user %q, want %q", p.User, tt.wantUser)
			}
		})
	}
}

func TestMergeHealth(t *testing.T) {
	img := &image.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Minute, Retries: 5}
	tests := []struct {
		name string
		c    *HealthConfig
		ic   *image.HealthConfig
		want *HealthConfig
	}{
		{"none", nil, nil, nil},
		{"image", nil, img, &HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Minute, Retries: 5}},
		{"override interval", &HealthConfig{Interval: time.Second}, img, &HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Second, Retries: 5}},
		{"override test", &HealthConfig{Test: []string{"CMD-SHELL", "x"}}, img, &HealthConfig{Test: []string{"CMD-SHELL", "x"}, Interval: time.Minute, Retries: 5}},
		{"disabled", &HealthConfig{Test: []string{"NONE"}}, img, &HealthConfig{Test: []string{"NONE"}}},
		{"durations without any test", &HealthConfig{Interval: time.Second}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeHealth(tt.c, tt.ic)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if hs := healthSpec(got); (hs != nil) != (got != nil && got.Test[0] != "NONE") {
				t.Errorf("healthSpec(%+v) = %+v", got, hs)
			}
		})
	}
}

func TestPortSpecs(t *testing.T) {
	cfg := ContainerConfig{Ports: []string{"127.0.0.1:8080:80", "53/udp"}, PublishAll: true, Expose: []string{"9000"}}
	ic := image.ImageConfig{ExposedPorts: []string{"443/tcp"}}
	got, err := portSpecs(cfg, ic)
	checkErr(t, err, "")
	want := []PortSpec{
		{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{ContainerPort: 53, Proto: "udp"},
		{ContainerPort: 443, Proto: "tcp"},
		{ContainerPort: 9000, Proto: "tcp"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if _, err := portSpecs(ContainerConfig{Ports: []string{"x:y:z:w"}}, ic); err == nil {
		t.Error("bad -p accepted")
	}
}

func TestResolvConf(t *testing.T) {
	e := &Engine{}
	user := []*network.Endpoint{{Network: "front", Gateway: "10.9.0.1"}}
	if got := e.resolvConf(&containerData{}, user); !strings.HasPrefix(got, "nameserver 10.9.0.1\n") || strings.Count(got, "nameserver") != 1 {
		t.Errorf("user network: %q", got)
	}
	d := &containerData{Config: ContainerConfig{DNS: []string{"192.0.2.53"}, DNSSearch: []string{"example.test"}, DNSOptions: []string{"ndots:2"}}}
	if got := e.resolvConf(d, user); got != "nameserver 192.0.2.53\nsearch example.test\noptions ndots:2\n" {
		t.Errorf("--dns flags: %q", got)
	}
	if got := e.resolvConf(&containerData{}, nil); strings.Contains(got, "nameserver 127.") {
		t.Errorf("loopback resolver leaked into a container: %q", got)
	}
}

func TestDetails(t *testing.T) {
	rt, err := runtime.New(runtime.Options{Root: t.TempDir(), RunRoot: t.TempDir(), LibcontainerRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Runtime: rt}
	five := 5
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := containerData{
		Config:   ContainerConfig{AutoRemove: false, Init: true, Mounts: []Mount{{Type: "volume", Source: "v", Target: "/v", ReadOnly: true}, {Type: "tmpfs", Target: "/t", Options: []string{"size=1m"}}}},
		Networks: []NetworkAttachment{{Name: "front", Aliases: []string{"www"}}}, NetworkMode: "front",
		Ports:   []PortSpec{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		Exposed: []string{"80/tcp"}, Cmd: []string{"-f"}, Entrypoint: []string{"httpd"},
		Mounts: []MountDetails{{Type: "volume", Name: "v", Source: "/data/v", Destination: "/v"}},
	}
	raw, _ := jsonRaw(d)
	c := &runtime.Container{ID: strings.Repeat("ab", 32), Name: "web", Created: created,
		Spec: runtime.Spec{ImageID: "sha256:1", Image: "busybox", Hostname: "h", Process: runtime.ProcessSpec{Args: []string{"httpd", "-f"}},
			Resources: runtime.Resources{Memory: 1 << 25, PidsLimit: 10}, StopTimeout: &five, Extra: raw},
		State: runtime.State{Status: "exited", ExitCode: 137, OOMKilled: true, RestartCount: 2}}
	eps := []network.Endpoint{{ContainerID: c.ID, Network: "front", IP: "10.9.0.2", Gateway: "10.9.0.1", PrefixLen: 16, IfName: "eth0"}}
	got := e.details(c, eps)
	checks := map[string][2]any{
		"Name":         {got.Name, "/web"},
		"Path":         {got.Path, "httpd"},
		"Args":         {got.Args, []string{"-f"}},
		"OOMKilled":    {got.State.OOMKilled, true},
		"ExitCode":     {got.State.ExitCode, 137},
		"RestartCount": {got.RestartCount, 2},
		"Memory":       {got.HostConfig.Memory, int64(1 << 25)},
		"PidsLimit":    {*got.HostConfig.PidsLimit, int64(10)},
		"Init":         {*got.HostConfig.Init, true},
		"Binds":        {got.HostConfig.Binds, []string{"v:/v:ro"}},
		"Tmpfs":        {got.HostConfig.Tmpfs, map[string]string{"/t": "size=1m"}},
		"PortBindings": {got.HostConfig.PortBindings, map[string][]PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}}},
		"RestartName":  {got.HostConfig.RestartPolicy.Name, "no"},
		"Entrypoint":   {got.Config.Entrypoint, []string{"httpd"}},
		"IP":           {got.NetworkSettings.Networks["front"].IPAddress, "10.9.0.2"},
		"Aliases":      {got.NetworkSettings.Networks["front"].Aliases, []string{"www"}},
		"Created":      {got.Created, "2026-01-02T03:04:05Z"},
		"StopTimeout":  {*got.Config.StopTimeout, 5},
	}
	for name, c := range checks {
		if !reflect.DeepEqual(c[0], c[1]) {
			t.Errorf("%s = %#v, want %#v", name, c[0], c[1])
		}
	}
}

func jsonRaw(d containerData) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(d)
	return map[string]json.RawMessage{extraKey: b}, err
}
