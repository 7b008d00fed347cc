package format

import "testing"

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0B"},
		{999, "999B"},
		{1000, "1kB"},
		{307_200, "307kB"},
		{4_261_412, "4.26MB"},
		{1_500_000_000, "1.5GB"},
	} {
		if got := Size(tc.n); got != tc.want {
			t.Errorf("Size(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
