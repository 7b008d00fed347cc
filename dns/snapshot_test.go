package dns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestWriteSnapshotSerialAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	empty, err := ReadSnapshot(dir)
	if err != nil || empty.Serial != 0 || len(empty.Networks) != 0 {
		t.Fatalf("missing file: %+v, %v", empty, err)
	}
	for i := 1; i <= 3; i++ {
		if err := WriteSnapshot(dir, testSnapshot("127.0.0.5")); err != nil {
			t.Fatal(err)
		}
		got, err := ReadSnapshot(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.Serial != uint64(i) || len(got.Records) != 6 || got.Upstreams[0] != "127.0.0.5" {
			t.Fatalf("write %d: read back %+v", i, got)
		}
	}
}

func TestWriteSnapshotRejectsBadInput(t *testing.T) {
	cases := map[string]Snapshot{
		"gateway not an address": {Networks: []NetworkView{{Name: "n", Gateway: "bridge0"}}},
		"ipv6 gateway":           {Networks: []NetworkView{{Name: "n", Gateway: "fd00::1"}}},
		"shared gateway": {Networks: []NetworkView{
			{Name: "a", Gateway: "10.9.0.1"}, {Name: "b", Gateway: "10.9.0.1"}}},
		"record ip":   {Records: []Record{{Network: "n", Names: []string{"x"}, IP: "nope"}}},
		"upstream":    {Upstreams: []string{"resolver.example"}},
		"no net name": {Networks: []NetworkView{{Gateway: "10.9.0.1"}}},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			err := WriteSnapshot(t.TempDir(), s)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
		})
	}
}

func TestUpdateConcurrentWritersLoseNothing(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Update(context.Background(), dir, func(s *Snapshot) error {
				s.Records = append(s.Records, Record{Network: "n", Names: []string{fmt.Sprint("c", i)}, IP: fmt.Sprintf("10.9.0.%d", i+2)})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s, err := ReadSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Records) != 20 || s.Serial != 20 {
		t.Fatalf("%d records, serial %d; want 20 and 20", len(s.Records), s.Serial)
	}
}

// TestUpdateUnchangedNotWritten: an update that changes nothing leaves the
// file (and its serial) alone, so the server is not woken for nothing.
func TestUpdateUnchangedNotWritten(t *testing.T) {
	dir := t.TempDir()
	set := func(s *Snapshot) error {
		s.Networks, s.Records = nil, nil
		s.Networks = append(s.Networks, NetworkView{Name: "n", Gateway: "10.9.0.1"})
		s.Records = append(s.Records, Record{Network: "n", Names: []string{"c"}, IP: "10.9.0.2"})
		return nil
	}
	for range 3 {
		if err := Update(context.Background(), dir, set); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := ReadSnapshot(dir); err != nil || s.Serial != 1 {
		t.Fatalf("serial %d, %v after three identical updates; want 1", s.Serial, err)
	}
	if err := Update(context.Background(), dir, func(s *Snapshot) error { s.Records = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadSnapshot(dir); err != nil || s.Serial != 2 || len(s.Records) != 0 {
		t.Fatalf("after a change: %+v, %v; want serial 2 and no records", s, err)
	}
}

func TestBuildTableSkipsMalformed(t *testing.T) {
	s := testSnapshot()
	s.Networks = append(s.Networks, NetworkView{Name: "bad", Gateway: "x"})
	s.Records = append(s.Records, Record{Network: "net1", Names: []string{"bad"}, IP: "x"},
		Record{Network: "missing", Names: []string{"lost"}, IP: "10.5.0.2"})
	tbl := buildTable(s, hostDefaults{upstreams: []string{"127.0.0.53:53"}, search: []string{"host.test"}})
	if len(tbl.byGateway) != 2 {
		t.Fatalf("%d networks, want the 2 valid ones", len(tbl.byGateway))
	}
	nt := tbl.byGateway[[4]byte{10, 1, 0, 1}]
	if nt.names["bad"] != nil || nt.names["lost"] != nil {
		t.Fatal("malformed records were loaded")
	}
	if len(tbl.search) != 1 || tbl.search[0] != "example.com" {
		t.Fatalf("snapshot search domains not preferred: %v", tbl.search)
	}
	s.Upstreams, s.Search = nil, nil
	tbl = buildTable(s, hostDefaults{upstreams: []string{"127.0.0.53:53"}, search: []string{"host.test"}})
	if tbl.upstreams[0] != "127.0.0.53:53" || tbl.search[0] != "host.test" {
		t.Fatalf("host defaults not used: %v %v", tbl.upstreams, tbl.search)
	}
}
