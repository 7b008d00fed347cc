package compose

import (
	"context"
	"strings"
	"testing"
)

type fakeBuilder struct{ reqs []BuildRequest }

func (f *fakeBuilder) Build(_ context.Context, r BuildRequest) (string, error) {
	f.reqs = append(f.reqs, r)
	return "sha256:" + r.Service, nil
}

func TestBuildServices(t *testing.T) {
	p := &Project{Name: "proj", WorkingDir: "/work/proj", Services: []Service{
		{Name: "a", Image: "proj-a", Build: &Build{Context: "/work/proj/a", Dockerfile: "Dockerfile.dev", Args: map[string]string{"X": "file", "Y": "y"}}},
		{Name: "b", Image: "shared", Build: &Build{Context: "/work/proj/b"}},
		{Name: "c", Image: "shared", Build: &Build{Context: "/work/proj/b"}},
		{Name: "d", Image: "busybox"},
	}}
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"all", nil, "a:proj-a:/work/proj/a:/work/proj/a/Dockerfile.dev:X=cli,Y=y b:shared:/work/proj/b::X=cli"},
		{"named", []string{"c", "d"}, "c:shared:/work/proj/b::X=cli"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBuilder{}
			if err := BuildServices(context.Background(), f, p, tc.names, BuildOptions{Args: map[string]string{"X": "cli"}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.reqs {
				var args []string
				for _, k := range []string{"X", "Y"} {
					if v, ok := r.Args[k]; ok {
						args = append(args, k+"="+v)
					}
				}
				got = append(got, strings.Join([]string{r.Service, r.Image, r.Context, r.Dockerfile, strings.Join(args, ",")}, ":"))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("builds\n %s\nwant\n %s", strings.Join(got, " "), tc.want)
			}
		})
	}
	if err := BuildServices(context.Background(), nil, p, []string{"a"}, BuildOptions{}); err == nil {
		t.Error("a nil builder built")
	}
	if err := BuildServices(context.Background(), &fakeBuilder{}, p, []string{"nope"}, BuildOptions{}); err == nil {
		t.Error("an unknown service built")
	}
}
