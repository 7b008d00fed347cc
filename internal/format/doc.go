// Package format renders command output the way Docker's --format flag
// does: Go templates with Docker's functions (json, join, split, upper,
// lower, title, truncate, pad, println), "table TEMPLATE" with a header
// line and tab-aligned columns, "json" lines, and inspect documents as an
// indented JSON array. A template sees a value's Go fields and methods
// first and, when that fails, the value's JSON shape, so both a struct's
// field names ({{.ID}}) and Docker's JSON names ({{.Id}}) work.
//
// It also holds the small pieces of command-line input every command
// group shares: the y/N confirmation prompt and key=value flag parsing.
package format
