// Package app_test checks that the app example's compose file says what its
// README promises, as berth's loader reads it.
package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/berth/berth/compose"
)

func load(t *testing.T, env ...string) *compose.Project {
	t.Helper()
	p, err := compose.Load(context.Background(), compose.LoadOptions{SearchDir: ".", Env: append([]string{}, env...)})
	if err != nil {
		t.Fatalf("load examples/app: %v", err)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("unsupported keys in examples/app: %v", p.Warnings)
	}
	return p
}

func service(t *testing.T, p *compose.Project, name string) compose.Service {
	t.Helper()
	i := slices.IndexFunc(p.Services, func(s compose.Service) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("no service %q in %s", name, p.Name)
	}
	return p.Services[i]
}

func TestComposeFile(t *testing.T) {
	p := load(t)
	if p.Name != "app" {
		t.Errorf("project name %q, want app", p.Name)
	}
	redis, web := service(t, p, "redis"), service(t, p, "web")
	if redis.Image != "app-redis:latest" || web.Image != "app-web:latest" {
		t.Errorf("images %q, %q; want the ones examples/images.sh makes", redis.Image, web.Image)
	}
	if redis.Healthcheck == nil || web.Healthcheck == nil {
		t.Fatal("both services need a healthcheck (web waits for redis; up --wait for web)")
	}
	if !slices.ContainsFunc(redis.Mounts, func(m compose.Mount) bool {
		return m.Type == "volume" && m.Source == "data" && m.Target == "/data"
	}) {
		t.Errorf("redis mounts %+v, want volume data at /data", redis.Mounts)
	}
	if v, ok := p.Volumes["data"]; !ok || v.Name != "app_data" {
		t.Errorf("volumes %+v, want app_data", p.Volumes)
	}
	if !slices.ContainsFunc(web.DependsOn, func(d compose.Dependency) bool {
		return d.Service == "redis" && d.Condition == "service_healthy"
	}) {
		t.Errorf("web depends_on %+v, want redis: service_healthy", web.DependsOn)
	}
	if web.Environment["REDIS_ADDR"] != "redis:6379" {
		t.Errorf("web REDIS_ADDR = %q", web.Environment["REDIS_ADDR"])
	}
	if len(web.Ports) != 1 || web.Ports[0].HostIP != "127.0.0.1" || web.Ports[0].Published != "18081" || web.Ports[0].Target != 8080 {
		t.Errorf("web ports %+v, want 127.0.0.1:18081:8080", web.Ports)
	}
}

func TestPortOverride(t *testing.T) {
	web := service(t, load(t, "APP_WEB_PORT=28081"), "web")
	if len(web.Ports) != 1 || web.Ports[0].Published != "28081" {
		t.Errorf("with APP_WEB_PORT=28081, web ports %+v", web.Ports)
	}
}
