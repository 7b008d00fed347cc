package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/format"
)

var imgTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func imgTestImages() []*image.Image {
	return []*image.Image{
		{ID: "sha256:" + strings.Repeat("ab", 32), RepoTags: []string{"busybox:latest", "localhost:5000/bb:1"},
			Created: imgTestNow.Add(-2 * time.Minute), Size: 4_260_000, Config: image.ImageConfig{Labels: map[string]string{"tier": "base"}}},
		{ID: "sha256:" + strings.Repeat("cd", 32), Created: imgTestNow.Add(-3 * time.Hour), Size: 1500},
	}
}

func TestImageLsTable(t *testing.T) {
	match, err := image.ParseFilters(nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := imgRows(imgTestImages(), false, imgTestNow, match)
	var out []any
	for _, r := range rows {
		out = append(out, r)
	}
	var buf bytes.Buffer
	if err := format.Rows(&buf, "", imgLsTable, out); err != nil {
		t.Fatal(err)
	}
	want := `REPOSITORY          TAG      IMAGE ID       CREATED         SIZE
busybox             latest   abababababab   2 minutes ago   4.26MB
localhost:5000/bb   1        abababababab   2 minutes ago   4.26MB
<none>              <none>   cdcdcdcdcdcd   3 hours ago     1.5kB
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	imgPrintIDs(&buf, rows)
	if buf.String() != "abababababab\ncdcdcdcdcdcd\n" {
		t.Errorf("-q printed %q", buf.String())
	}
}

func TestImageLsFilters(t *testing.T) {
	tests := []struct {
		name    string
		filters []string
		arg     string
		want    []string // repo:tag of rows
	}{
		{"repository argument", nil, "busybox", []string{"busybox:latest"}},
		{"full name argument", nil, "docker.io/library/busybox:latest", []string{"busybox:latest"}},
		{"repository argument, other tag", nil, "localhost:5000/bb", []string{"localhost:5000/bb:1"}},
		{"reference glob", []string{"reference=localhost:5000/*"}, "", []string{"localhost:5000/bb:1"}},
		{"reference with tag", []string{"reference=*:latest"}, "", []string{"busybox:latest"}},
		{"dangling", []string{"dangling=true"}, "", []string{"<none>:<none>"}},
		{"label", []string{"label=tier=base"}, "", []string{"busybox:latest", "localhost:5000/bb:1"}},
		{"label missing", []string{"label=tier=other"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filters := tt.filters
			if tt.arg != "" {
				filters = append(filters, "reference="+tt.arg)
			}
			match, err := image.ParseFilters(filters)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range imgRows(imgTestImages(), false, imgTestNow, match) {
				got = append(got, r.Repository+":"+r.Tag)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := image.ParseFilters([]string{"bogus=1"}); err == nil {
		t.Error("unknown filter accepted")
	}
}

func TestImageHistoryRows(t *testing.T) {
	img := &image.Image{ID: "sha256:" + strings.Repeat("ef", 32), History: []image.History{
		{Created: imgTestNow.Add(-time.Hour), Comment: "Imported from -", Size: 2_000_000},
		{Created: imgTestNow.Add(-time.Minute), CreatedBy: "/bin/sh -c " + strings.Repeat("x", 60), EmptyLayer: true},
	}}
	rows := imgHistoryRows(img, false, imgTestNow)
	if len(rows) != 2 || rows[0].ID != "efefefefefef" || rows[1].ID != "<missing>" {
		t.Fatalf("rows %+v", rows)
	}
	if n := len([]rune(rows[0].CreatedBy)); n != 45 || !strings.HasSuffix(rows[0].CreatedBy, "…") {
		t.Errorf("created by not truncated to 45: %q", rows[0].CreatedBy)
	}
	if rows[1].Size != "2MB" || rows[0].Size != "0B" || rows[1].CreatedSince != "About an hour ago" {
		t.Errorf("rows %+v", rows)
	}
}

func TestImagePrintPrune(t *testing.T) {
	var buf bytes.Buffer
	imgPrintPrune(&buf, []string{"Untagged: a:latest", "Deleted: sha256:x"}, 2048)
	want := "Deleted Images:\nuntagged: a:latest\ndeleted: sha256:x\n\nTotal reclaimed space: 2.048kB\n"
	if buf.String() != want {
		t.Errorf("got %q", buf.String())
	}
}

func TestImageInspectFormat(t *testing.T) {
	docs := []image.Inspect{imgTestImages()[0].Inspect()}
	var buf bytes.Buffer
	if err := imgPrintInspect(&buf, "{{.Id}} {{json .RepoTags}} {{.Config.Labels.tier}} {{.Size}}", docs); err != nil {
		t.Fatal(err)
	}
	if want := "sha256:" + strings.Repeat("ab", 32) + ` ["busybox:latest","localhost:5000/bb:1"] base 4260000` + "\n"; buf.String() != want {
		t.Errorf("got %q", buf.String())
	}
	buf.Reset()
	imgPrintInspect(&buf, "", nil)
	if buf.String() != "[]\n" {
		t.Errorf("empty inspect %q", buf.String())
	}
}
