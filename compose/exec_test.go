package compose

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func fastExec() ExecOptions {
	return ExecOptions{PollInterval: time.Millisecond}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func engineWithImages() *fakeEngine {
	f := newFakeEngine()
	for ref, id := range demoImages {
		f.images[ref] = id
	}
	return f
}

// indexOfLog returns the position of line in log, failing the test when absent.
func indexOfLog(t *testing.T, log []string, line string) int {
	t.Helper()
	for i, l := range log {
		if l == line {
			return i
		}
	}
	t.Fatalf("%q not in log:\n%s", line, strings.Join(log, "\n"))
	return -1
}

func TestExecuteHealthGatedOrder(t *testing.T) {
	f := engineWithImages()
	f.behaviours["demo-db-1"] = behaviour{healthyAfter: 3}
	f.behaviours["demo-api-1"] = behaviour{healthyAfter: 2}
	f.behaviours["demo-init-1"] = behaviour{exitAfter: 2, exitCode: 0}
	_, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: fastExec()})
	if err != nil {
		t.Fatalf("up: %v\nlog:\n%s", err, strings.Join(f.Log(), "\n"))
	}
	log := f.Log()
	// each start comes after its own dependencies' conditions
	if indexOfLog(t, log, "start demo-api-1") < indexOfLog(t, log, "healthy demo-db-1") {
		t.Error("api started before db was healthy")
	}
	webStart := indexOfLog(t, log, "start demo-web-1")
	if webStart < indexOfLog(t, log, "healthy demo-api-1") || webStart < indexOfLog(t, log, "exit demo-init-1 0") {
		t.Error("web started before api was healthy and init completed")
	}
	if indexOfLog(t, log, "create network demo_default") > indexOfLog(t, log, "create demo-db-1") {
		t.Error("network created after a container")
	}
	if got := strings.Join(f.names("running"), ","); got != "demo-api-1,demo-db-1,demo-web-1" {
		t.Errorf("running: %s", got)
	}
	// a second up changes nothing
	f.log = nil
	plan, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: fastExec()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan.String(), "create") || strings.Contains(plan.String(), "recreate") {
		t.Errorf("second up re-creates:\n%s", plan)
	}
	for _, l := range f.Log() {
		if strings.HasPrefix(l, "create") || strings.HasPrefix(l, "remove") {
			t.Errorf("second up did %q", l)
		}
	}
}

func TestExecuteParallelIndependentServices(t *testing.T) {
	p := &Project{Name: "par", Networks: map[string]Network{}, Services: []Service{
		{Name: "a", Image: "db:1", Scale: 1}, {Name: "b", Image: "db:1", Scale: 1},
	}}
	f := engineWithImages()
	// each Start blocks until both have begun: a sequential executor never
	// gets there and the test's deadline fails it
	var barrier sync.WaitGroup
	barrier.Add(2)
	f.behaviours["par-a-1"] = behaviour{startBarrier: &barrier}
	f.behaviours["par-b-1"] = behaviour{startBarrier: &barrier}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Up(ctx, f.backend(), p, UpOptions{Exec: fastExec()}); err != nil {
		t.Fatalf("independent services were not started in parallel: %v", err)
	}
}

func TestExecuteFailingDependency(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fakeEngine)
		want  string
	}{
		{"unhealthy", func(f *fakeEngine) {
			f.behaviours["demo-db-1"] = behaviour{unhealthyAfter: 2}
		}, `dependency "db" is unhealthy`},
		{"exits before healthy", func(f *fakeEngine) {
			f.behaviours["demo-db-1"] = behaviour{healthyAfter: 100, exitAfter: 2, exitCode: 3}
		}, `dependency "db" exited (code 3)`},
		{"no healthcheck", func(*fakeEngine) {}, `dependency "db" has no healthcheck`},
		{"init fails", func(f *fakeEngine) {
			f.behaviours["demo-db-1"] = behaviour{healthyAfter: 1}
			f.behaviours["demo-api-1"] = behaviour{healthyAfter: 1}
			f.behaviours["demo-init-1"] = behaviour{exitAfter: 1, exitCode: 1}
		}, `service "init" didn't complete successfully: exit 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := engineWithImages()
			tc.setup(f)
			_, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: fastExec()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			for _, l := range f.Log() {
				if l == "start demo-web-1" {
					t.Error("web started although its dependency failed")
				}
			}
		})
	}
}

func TestExecuteWaitTimeout(t *testing.T) {
	f := engineWithImages()
	f.behaviours["demo-db-1"] = behaviour{healthyAfter: 1 << 30}
	o := fastExec()
	o.WaitTimeout = 50 * time.Millisecond
	_, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: o})
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), `dependency "db"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestExecuteMissingImageCreatesNothing(t *testing.T) {
	f := engineWithImages()
	delete(f.images, "web:1")
	_, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: fastExec()})
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), `service "web": image "web:1" not found`) {
		t.Fatalf("err = %v", err)
	}
	if log := f.Log(); len(log) != 0 {
		t.Errorf("something was created: %v", log)
	}
}

func TestExecuteRollbackOnCancel(t *testing.T) {
	f := engineWithImages()
	ctx, cancel := context.WithCancel(testCtx(t))
	// db never gets healthy; the user presses Ctrl-C while api waits
	f.behaviours["demo-db-1"] = behaviour{healthyAfter: 1 << 30, onInspect: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	_, err := Up(ctx, f.backend(), demo(), UpOptions{Exec: fastExec()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	// db and init (independent) run, labelled; api was created but never
	// started: removed
	if got := strings.Join(f.names(""), ","); got != "demo-db-1,demo-init-1" {
		t.Errorf("containers left: %s\nlog:\n%s", got, strings.Join(f.Log(), "\n"))
	}
	for _, c := range f.containers {
		if c.spec.Labels[LabelProject] != "demo" || c.spec.Labels[LabelService] == "" {
			t.Errorf("left container without labels: %v", c.spec.Labels)
		}
	}
}

func TestExecuteRecreateAndDown(t *testing.T) {
	f := engineWithImages()
	for _, n := range []string{"demo-db-1", "demo-api-1"} {
		f.behaviours[n] = behaviour{healthyAfter: 1}
	}
	f.behaviours["demo-init-1"] = behaviour{exitAfter: 1}
	if _, err := Up(testCtx(t), f.backend(), demo(), UpOptions{Exec: fastExec()}); err != nil {
		t.Fatal(err)
	}
	webID := f.idOf("demo-web-1")
	changed := demo()
	changed.Services[1].Environment = map[string]string{"V": "2"} // db
	f.log = nil
	if _, err := Up(testCtx(t), f.backend(), changed, UpOptions{Exec: fastExec()}); err != nil {
		t.Fatal(err)
	}
	var dbLog []string
	for _, l := range f.Log() {
		if strings.HasSuffix(l, " demo-db-1") {
			dbLog = append(dbLog, l)
		}
	}
	if got := strings.Join(dbLog, "\n"); got != "stop demo-db-1\nremove demo-db-1\ncreate demo-db-1\nstart demo-db-1" {
		t.Errorf("db not recreated:\n%s", got)
	}
	if f.idOf("demo-web-1") != webID {
		t.Error("unchanged web was recreated")
	}
	f.log = nil
	if _, err := Down(testCtx(t), f.backend(), "demo", changed, DownOptions{Volumes: true}, fastExec(), ""); err != nil {
		t.Fatal(err)
	}
	log := f.Log()
	if indexOfLog(t, log, "stop demo-web-1") > indexOfLog(t, log, "stop demo-api-1") ||
		indexOfLog(t, log, "stop demo-api-1") > indexOfLog(t, log, "stop demo-db-1") {
		t.Errorf("down not in reverse dependency order:\n%s", strings.Join(log, "\n"))
	}
	if indexOfLog(t, log, "remove network demo_default") < indexOfLog(t, log, "remove demo-db-1") {
		t.Error("network removed before its containers")
	}
	indexOfLog(t, log, "remove volume demo_data")
	if len(f.names("")) != 0 || len(f.networks) != 0 || len(f.volumes) != 0 {
		t.Errorf("leaks after down: %v %v %v", f.names(""), f.networks, f.volumes)
	}
}

func TestExecuteMaterializesSecrets(t *testing.T) {
	p := &Project{Name: "sec", Environment: map[string]string{"KEY": "from-env"},
		Secrets: map[string]FileObject{"s": {Environment: "KEY"}},
		Configs: map[string]FileObject{"c": {Content: "inline"}},
		Services: []Service{{Name: "app", Image: "db:1", Scale: 1,
			Secrets: []FileRef{{Source: "s", Target: "/run/secrets/s"}},
			Configs: []FileRef{{Source: "c", Target: "/c"}}}}}
	f := engineWithImages()
	o := fastExec()
	o.DataDir = t.TempDir()
	if _, err := Up(testCtx(t), f.backend(), p, UpOptions{Exec: o}); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.containers {
		got := map[string]string{}
		for _, fm := range c.spec.Files {
			b, err := osReadFile(fm.Source)
			if err != nil {
				t.Fatal(err)
			}
			got[fm.Target] = string(b)
		}
		if got["/run/secrets/s"] != "from-env" || got["/c"] != "inline" {
			t.Errorf("files: %v", got)
		}
	}
}

func (f *fakeEngine) idOf(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.containers {
		if c.name == name {
			return id
		}
	}
	return ""
}

func TestExecuteStartWaitsOnUntouchedDependencies(t *testing.T) {
	f := engineWithImages()
	for _, n := range []string{"demo-db-1", "demo-api-1"} {
		f.behaviours[n] = behaviour{healthyAfter: 1}
	}
	f.behaviours["demo-init-1"] = behaviour{exitAfter: 1}
	b := f.backend()
	if _, err := Up(testCtx(t), b, demo(), UpOptions{Exec: fastExec()}); err != nil {
		t.Fatal(err)
	}
	f.Stop(context.Background(), f.idOf("demo-web-1"), nil)
	obs, err := Observe(testCtx(t), b, "demo", demo())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanStart(demo(), obs, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	f.log = nil
	if err := Execute(testCtx(t), b, plan, fastExec()); err != nil {
		t.Fatalf("start web: %v\n%s", err, plan)
	}
	if got := strings.Join(f.Log(), "\n"); got != "start demo-web-1" {
		t.Errorf("log:\n%s", got)
	}
}
