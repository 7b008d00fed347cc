//go:build !berthcore

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/engine"
)

func TestWriteComposePsTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	started := now.Add(-5 * time.Minute).Format(time.RFC3339Nano)
	mk := func(name, svc string, args ...string) *engine.Details {
		d := &engine.Details{Name: "/" + name, Path: "sh", Args: args, Created: started,
			State: engine.StateDetails{Status: "running", Running: true, StartedAt: started}}
		d.Config.Image = "busybox"
		d.Config.Labels = map[string]string{compose.LabelService: svc}
		return d
	}
	list := []*engine.Details{mk("shop-web-1", "web", "-c", `echo "hi"`), mk("shop-db-1", "db")}
	var b bytes.Buffer
	if err := writeComposePs(&b, list, false, false, now); err != nil {
		t.Fatal(err)
	}
	want := `NAME         IMAGE     COMMAND               SERVICE   CREATED         STATUS         PORTS
shop-db-1    busybox   "sh"                  db        5 minutes ago   Up 5 minutes   
shop-web-1   busybox   "sh -c echo \"hi\""   web       5 minutes ago   Up 5 minutes   
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := writeComposePs(&b, list, true, false, now); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `[{"Name":"shop-db-1","Image":"busybox","Command":"sh",`) {
		t.Errorf("json: %s", b.String())
	}
}

// COMMAND is cut to 20 characters like Docker Compose's, unless --no-trunc;
// JSON always has the whole command.
func TestWriteComposePsTruncatesCommand(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := &engine.Details{Name: "/p-w-1", Path: "sh", Args: []string{"-c", "while true; do sleep 5; done"}, Created: now.Format(time.RFC3339Nano)}
	d.Config.Image = "busybox"
	for _, tc := range []struct {
		noTrunc bool
		want    string
	}{
		{false, `"sh -c while true; d…"`},
		{true, `"sh -c while true; do sleep 5; done"`},
	} {
		var b bytes.Buffer
		if err := writeComposePs(&b, []*engine.Details{d}, false, tc.noTrunc, now); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("noTrunc=%v: want %s in\n%s", tc.noTrunc, tc.want, b.String())
		}
	}
	var b bytes.Buffer
	if err := writeComposePs(&b, []*engine.Details{d}, true, false, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"Command":"sh -c while true; do sleep 5; done"`) {
		t.Errorf("json cut the command: %s", b.String())
	}
}

func TestWriteProjectsTable(t *testing.T) {
	rows := []projectRow{{Name: "shop", Status: "running(2)", ConfigFiles: "/src/shop/compose.yaml"}, {Name: "a", Status: "exited(1)"}}
	for _, tc := range []struct{ format, want string }{
		{"table", "NAME   STATUS       CONFIG FILES\nshop   running(2)   /src/shop/compose.yaml\na      exited(1)    \n"},
		{"json", `[{"Name":"shop","Status":"running(2)","ConfigFiles":"/src/shop/compose.yaml"},{"Name":"a","Status":"exited(1)","ConfigFiles":""}]` + "\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			c := newComposeLsCmd(theGlobals)
			var b bytes.Buffer
			c.SetOut(&b)
			if err := writeProjects(c, rows, false, tc.format); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}
