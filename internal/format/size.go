package format

import units "github.com/docker/go-units"

// Size is a byte count as Docker's CLI prints sizes in tables (image ls,
// ps -s, system df): three significant digits, decimal units ("4.26MB",
// "307kB", "0B").
func Size(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
