// Command seccompspec adds Docker's default seccomp profile (as berth
// applies it: x32 dropped) to a runc bundle's config.json, so that
// bench/runtime.sh can time runc with the same filter berth compiles.
//
//	go run ./bench/runtime/seccompspec BUNDLE/config.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: seccompspec CONFIG.JSON")
		os.Exit(2)
	}
	if err := addProfile(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "seccompspec: %v\n", err)
		os.Exit(1)
	}
}

func addProfile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p, err := seccomp.GetDefaultProfile(&s)
	if err != nil {
		return err
	}
	var arches []specs.Arch
	for _, a := range p.Architectures {
		if a != specs.ArchX32 {
			arches = append(arches, a)
		}
	}
	p.Architectures = arches
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.Seccomp = p
	out, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
