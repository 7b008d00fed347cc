package compose

import (
	"strings"
	"testing"
)

// demo is a project: web depends on api (healthy) and db (started); api on
// db; init completes; all on the default network, db with a volume.
func demo() *Project {
	net := []ServiceNetwork{{Key: "default"}}
	p := &Project{
		Name:       "demo",
		WorkingDir: "/src/demo",
		Networks:   map[string]Network{"default": {Name: "demo_default"}},
		Volumes:    map[string]Volume{"data": {Name: "demo_data"}},
		Services: []Service{
			{Name: "api", Image: "api:1", Scale: 1, Networks: net, DependsOn: []Dependency{{Service: "db", Condition: ConditionHealthy, Required: true}}},
			{Name: "db", Image: "db:1", Scale: 1, Networks: net, Mounts: []Mount{{Type: MountVolume, Source: "data", Target: "/data"}}},
			{Name: "web", Image: "web:1", Scale: 1, Networks: net, DependsOn: []Dependency{
				{Service: "api", Condition: ConditionHealthy, Required: true},
				{Service: "init", Condition: ConditionCompleted, Required: true},
			}},
			{Name: "init", Image: "db:1", Scale: 1, Networks: net},
		},
	}
	return p
}

var demoImages = map[string]string{"api:1": "sha256:a1", "db:1": "sha256:d1", "web:1": "sha256:w1"}

// running returns an up-to-date running container of service s.
func running(p *Project, svc string, n int) ObservedContainer {
	s, _ := p.Service(svc)
	id := demoImages[s.Image]
	return ObservedContainer{ID: svc + "-id", Name: ContainerName(p.Name, s, n), Service: svc, Number: n,
		ConfigHash: ConfigHash(*s, id), ImageID: id, State: "running"}
}

func allRunning(p *Project) Observed {
	obs := Observed{Networks: []string{"demo_default"}, Volumes: []string{"demo_data"}, Images: demoImages}
	for _, s := range p.Services {
		obs.Containers = append(obs.Containers, running(p, s.Name, 1))
	}
	return obs
}

func TestPlanUp(t *testing.T) {
	cases := []struct {
		name    string
		desired func() *Project
		obs     func(p *Project) Observed
		opts    PlanOptions
		want    string
		warn    string
	}{
		{
			name:    "fresh project",
			desired: demo,
			obs:     func(*Project) Observed { return Observed{Images: demoImages} },
			want: `create network demo_default
create volume demo_data
create container demo-db-1
start container demo-db-1
create container demo-api-1
start container demo-api-1 after demo-db-1 healthy
create container demo-init-1
start container demo-init-1
create container demo-web-1
start container demo-web-1 after demo-api-1 healthy, demo-init-1 completed successfully
`,
		},
		{
			name:    "everything up to date",
			desired: demo,
			obs:     allRunning,
			want: `keep container demo-db-1 (running)
keep container demo-api-1 (running)
keep container demo-init-1 (running)
keep container demo-web-1 (running)
`,
		},
		{
			name: "config changed recreates only that service",
			desired: func() *Project {
				p := demo()
				p.Services[1].Environment = map[string]string{"NEW": "1"}
				return p
			},
			obs: func(*Project) Observed { return allRunning(demo()) },
			want: `recreate container demo-db-1 (config changed)
start container demo-db-1
keep container demo-api-1 (running)
keep container demo-init-1 (running)
keep container demo-web-1 (running)
`,
		},
		{
			name:    "image changed",
			desired: demo,
			obs: func(p *Project) Observed {
				o := allRunning(p)
				o.Images = map[string]string{"api:1": "sha256:a2", "db:1": "sha256:d1", "web:1": "sha256:w1"}
				return o
			},
			want: `keep container demo-db-1 (running)
recreate container demo-api-1 (image changed)
start container demo-api-1 after demo-db-1 healthy
keep container demo-init-1 (running)
keep container demo-web-1 (running)
`,
		},
		{
			name:    "stopped container is started, scale up and down",
			desired: demo,
			obs: func(p *Project) Observed {
				o := allRunning(p)
				o.Containers[0].State = "exited" // api
				o.Containers = append(o.Containers, running(p, "web", 2), running(p, "web", 3))
				return o
			},
			opts: PlanOptions{Scale: map[string]int{"web": 2, "db": 2}},
			want: `keep container demo-db-1 (running)
create container demo-db-2
start container demo-db-2
start container demo-api-1 after demo-db-1 healthy, demo-db-2 healthy
keep container demo-init-1 (running)
keep container demo-web-1 (running)
keep container demo-web-2 (running)
remove container demo-web-3 (scaled down)
`,
		},
		{
			name:    "force recreate and no start",
			desired: demo,
			obs:     allRunning,
			opts:    PlanOptions{ForceRecreate: true, NoStart: true, Services: []string{"api"}},
			want: `recreate container demo-db-1 (forced)
recreate container demo-api-1 (forced)
`,
		},
		{
			name: "no recreate keeps changed containers",
			desired: func() *Project {
				p := demo()
				p.Services[1].Image = "db:1"
				p.Services[1].Command = []string{"changed"}
				return p
			},
			obs:  func(*Project) Observed { return allRunning(demo()) },
			opts: PlanOptions{NoRecreate: true, Services: []string{"db"}},
			want: "keep container demo-db-1 (running)\n",
		},
		{
			name:    "no deps selects only the service",
			desired: demo,
			obs:     func(*Project) Observed { return Observed{Images: demoImages} },
			opts:    PlanOptions{Services: []string{"web"}, NoDeps: true},
			want: `create network demo_default
create container demo-web-1
start container demo-web-1
`,
		},
		{
			name:    "orphans removed",
			desired: demo,
			obs: func(p *Project) Observed {
				o := allRunning(p)
				o.Containers = append(o.Containers, ObservedContainer{ID: "x", Name: "demo-old-1", Service: "old", Number: 1, State: "running"})
				return o
			},
			opts: PlanOptions{RemoveOrphans: true},
			want: `remove orphan demo-old-1
keep container demo-db-1 (running)
keep container demo-api-1 (running)
keep container demo-init-1 (running)
keep container demo-web-1 (running)
`,
		},
		{
			name:    "orphans warned",
			desired: demo,
			obs: func(p *Project) Observed {
				o := allRunning(p)
				o.Containers = append(o.Containers, ObservedContainer{ID: "x", Name: "demo-old-1", Service: "old", Number: 1, State: "running"})
				return o
			},
			opts: PlanOptions{Services: []string{"db"}},
			want: "keep container demo-db-1 (running)\n",
			warn: `found orphan containers (demo-old-1) for project "demo": remove them with --remove-orphans`,
		},
		{
			name: "restart true and network_mode service follow a recreated dependency",
			desired: func() *Project {
				p := demo()
				p.Services[0].DependsOn[0].Restart = true                              // api restarts when db is recreated
				p.Services[2].NetworkMode, p.Services[2].Networks = "service:api", nil // web shares api's netns
				p.Services[2].DependsOn = nil
				p.Services[1].Environment = map[string]string{"NEW": "1"} // db changed
				return p
			},
			obs: func(*Project) Observed {
				p := demo()
				p.Services[0].DependsOn[0].Restart = true
				p.Services[2].NetworkMode, p.Services[2].Networks = "service:api", nil
				p.Services[2].DependsOn = nil
				return allRunning(p)
			},
			opts: PlanOptions{Services: []string{"web", "api"}},
			want: `recreate container demo-db-1 (config changed)
start container demo-db-1
restart container demo-api-1 after demo-db-1 healthy (dependency db recreated)
keep container demo-web-1 (running)
`,
		},
		{
			name: "container_name",
			desired: func() *Project {
				p := demo()
				p.Services[1].ContainerName = "thedb"
				return p
			},
			obs: func(*Project) Observed {
				return Observed{Networks: []string{"demo_default"}, Volumes: []string{"demo_data"}, Images: demoImages}
			},
			opts: PlanOptions{Services: []string{"db"}},
			want: "create container thedb\nstart container thedb\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.desired()
			plan, err := PlanUp(p, tc.obs(p), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.String(); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := strings.Join(plan.Warnings, "\n"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}

func TestPlanUpErrors(t *testing.T) {
	p := demo()
	if _, err := PlanUp(p, Observed{}, PlanOptions{Services: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `service "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
	p.Services[1].ContainerName = "thedb"
	if _, err := PlanUp(p, Observed{}, PlanOptions{Scale: map[string]int{"db": 2}}); err == nil || !strings.Contains(err.Error(), "container_name") {
		t.Errorf("container_name with scale: %v", err)
	}
	p = demo()
	p.Services[1].DependsOn = []Dependency{{Service: "web", Condition: ConditionStarted, Required: true}}
	_, err := PlanUp(p, Observed{}, PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "dependency cycle: ") || !strings.Contains(err.Error(), "db -> web") {
		t.Errorf("cycle: %v", err)
	}
}

func TestPlanDown(t *testing.T) {
	withOrphan := func(p *Project) Observed {
		o := allRunning(p)
		o.Containers[2].State = "exited" // web
		o.Containers = append(o.Containers, ObservedContainer{ID: "x", Name: "demo-old-1", Service: "old", Number: 1, State: "running"})
		return o
	}
	cases := []struct {
		name    string
		desired *Project
		opts    DownOptions
		want    string
		warn    string
	}{
		{
			name: "reverse dependency order, networks kept volumes", desired: demo(),
			want: `stop container demo-web-1
remove container demo-web-1
stop container demo-init-1
remove container demo-init-1
stop container demo-api-1
remove container demo-api-1
stop container demo-db-1
remove container demo-db-1
remove network demo_default
`,
			warn: "found orphan containers (demo-old-1): remove them with --remove-orphans",
		},
		{
			name: "volumes and orphans", desired: demo(), opts: DownOptions{Volumes: true, RemoveOrphans: true},
			want: `stop container demo-old-1
remove container demo-old-1
remove container demo-web-1
stop container demo-init-1
remove container demo-init-1
stop container demo-api-1
remove container demo-api-1
stop container demo-db-1
remove container demo-db-1
remove network demo_default
remove volume demo_data
`,
		},
		{
			name: "no compose file", desired: nil, opts: DownOptions{Volumes: true},
			want: `stop container demo-api-1
remove container demo-api-1
stop container demo-db-1
remove container demo-db-1
stop container demo-init-1
remove container demo-init-1
stop container demo-old-1
remove container demo-old-1
remove container demo-web-1
remove network demo_default
remove volume demo_data
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := withOrphan(demo())
			if tc.name == "reverse dependency order, networks kept volumes" {
				obs.Containers[2].State = "running"
			}
			plan, err := PlanDown(tc.desired, obs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.String(); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := strings.Join(plan.Warnings, "\n"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}

func TestConfigHash(t *testing.T) {
	s := demo().Services[0]
	h := ConfigHash(s, "sha256:a")
	if len(h) != 64 || h != ConfigHash(s, "sha256:a") {
		t.Fatalf("hash not stable: %s", h)
	}
	scaled := s
	scaled.Scale = 5
	if ConfigHash(scaled, "sha256:a") != h {
		t.Error("scale changed the hash")
	}
	if ConfigHash(s, "sha256:b") == h {
		t.Error("image id did not change the hash")
	}
	env := s
	env.Environment = map[string]string{"A": "1"}
	if ConfigHash(env, "sha256:a") == h {
		t.Error("environment did not change the hash")
	}
}

func TestPlanLifecycle(t *testing.T) {
	obs := allRunning(demo())
	obs.Containers[2].State = "exited" // web
	obs.Containers[3].State = "exited" // init
	stop, err := PlanStop(demo(), obs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stop.String(), "stop container demo-api-1\nstop container demo-db-1\n"; got != want {
		t.Errorf("stop:\n%s\nwant:\n%s", got, want)
	}
	rm, err := PlanRemove(demo(), obs, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rm.String(), "remove container demo-web-1\nremove container demo-init-1\n"; got != want {
		t.Errorf("rm:\n%s\nwant:\n%s", got, want)
	}
	rm, _ = PlanRemove(demo(), obs, []string{"db"}, true)
	if got, want := rm.String(), "stop container demo-db-1\nremove container demo-db-1\n"; got != want {
		t.Errorf("rm -s db:\n%s\nwant:\n%s", got, want)
	}
	start, err := PlanStart(demo(), obs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := start.String(), "start container demo-init-1\nstart container demo-web-1 after demo-api-1 healthy, demo-init-1 completed successfully\n"; got != want {
		t.Errorf("start:\n%s\nwant:\n%s", got, want)
	}
	if _, err := PlanStop(demo(), obs, []string{"nope"}); err == nil {
		t.Error("unknown service accepted")
	}
}

func TestPlanRunAndOneOffSpec(t *testing.T) {
	p := demo()
	plan, err := PlanRun(p, Observed{Images: demoImages}, "web", false)
	if err != nil {
		t.Fatal(err)
	}
	want := `create network demo_default
create volume demo_data
create container demo-db-1
start container demo-db-1
create container demo-api-1
start container demo-api-1 after demo-db-1 healthy
create container demo-init-1
start container demo-init-1
`
	if plan.String() != want {
		t.Errorf("run plan:\n%s\nwant:\n%s", plan, want)
	}
	s, _ := p.Service("web")
	s.Ports = []Port{{Target: 80}}
	s.Networks[0].Aliases = []string{"www"}
	spec, err := OneOffSpec(p, s, "sha256:w1", RunOptions{Suffix: "abc", Command: []string{"sh"}, Env: []string{"X=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "demo-web-run-abc" || spec.Labels[LabelOneOff] != "True" || spec.Ports != nil ||
		spec.Networks[0].Aliases != nil || spec.Command[0] != "sh" || spec.Env[len(spec.Env)-1] != "X=1" {
		t.Errorf("one-off spec: %+v", spec)
	}
}
