package network

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/berth/berth/internal/errdefs"
)

// berth changes its rules with one iptables-save (to see what exists) and
// one iptables-restore --noflush (to add or delete only what differs), not
// with an iptables call per rule: each exec costs milliseconds, and a
// network has about a dozen rules and checks. The restore of each table is
// atomic.

// ruleset is what iptables-save shows of the tables berth uses.
type ruleset struct {
	chains map[string]bool // "table/chain"
	rules  map[string]bool // "table|-A chain spec..."
	count  map[string]int  // rules per "table/chain"
}

func (r rule) key() string {
	return r.table + "|-A " + r.chain + " " + strings.Join(r.spec, " ")
}

// parseRuleset reads iptables-save output.
func parseRuleset(out []byte) *ruleset {
	rs := &ruleset{chains: map[string]bool{}, rules: map[string]bool{}, count: map[string]int{}}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) > 0 {
				rs.chains[table+"/"+f[0]] = true
			}
		case strings.HasPrefix(line, "-A "):
			rs.rules[table+"|"+line] = true
			if f := strings.Fields(line); len(f) > 1 {
				rs.count[table+"/"+f[1]]++
			}
		}
	}
	return rs
}

// script collects restore lines per table.
type script struct {
	tables []string
	lines  map[string][]string
}

func (s *script) add(table, line string) {
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	if _, ok := s.lines[table]; !ok {
		s.tables = append(s.tables, table)
	}
	s.lines[table] = append(s.lines[table], line)
}

func (s *script) String() string {
	var b strings.Builder
	for _, t := range s.tables {
		fmt.Fprintf(&b, "*%s\n", t)
		for _, l := range s.lines[t] {
			b.WriteString(l + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// setupScript adds what the network's rules (and berth's chains and
// jumps) lack in rs.
func setupScript(rs *ruleset, n *Network) *script {
	s := &script{}
	for _, c := range berthChains {
		if !rs.chains[c.table+"/"+c.chain] {
			s.add(c.table, "-N "+c.chain)
		}
		jump := rule{table: c.table, chain: c.parent, spec: []string{"-j", c.chain}}
		if c.parent != "" && !rs.rules[jump.key()] {
			s.add(c.table, "-I "+c.parent+" 1 -j "+c.chain)
		}
	}
	for _, r := range networkRules(n) {
		if rs.rules[r.key()] {
			continue
		}
		if r.first {
			s.add(r.table, "-I "+r.chain+" 1 "+strings.Join(r.spec, " "))
		} else {
			s.add(r.table, "-A "+r.chain+" "+strings.Join(r.spec, " "))
		}
	}
	return s
}

// teardownScript deletes the network's rules present in rs and, when
// berth's chains are then empty, the chains and the jumps to them.
func teardownScript(rs *ruleset, n *Network) *script {
	s := &script{}
	for _, r := range networkRules(n) {
		if rs.rules[r.key()] {
			s.add(r.table, "-D "+r.chain+" "+strings.Join(r.spec, " "))
			rs.count[r.table+"/"+r.chain]--
			delete(rs.rules, r.key())
		}
	}
	cleanupScript(rs, s)
	return s
}

// cleanupScript removes berth's chains and jumps when every chain is empty.
func cleanupScript(rs *ruleset, s *script) {
	for _, c := range berthChains {
		if rs.count[c.table+"/"+c.chain] > 0 {
			return
		}
	}
	for i := len(berthChains) - 1; i >= 0; i-- { // jumpers before their targets
		c := berthChains[i]
		jump := rule{table: c.table, chain: c.parent, spec: []string{"-j", c.chain}}
		if c.parent != "" && rs.rules[jump.key()] {
			s.add(c.table, "-D "+c.parent+" -j "+c.chain)
		}
	}
	for i := len(berthChains) - 1; i >= 0; i-- {
		if c := berthChains[i]; rs.chains[c.table+"/"+c.chain] {
			s.add(c.table, "-X "+c.chain)
		}
	}
}

var (
	iptOnce sync.Once
	iptWait []string // "-w" for iptables-legacy, whose restore takes the xtables lock
	iptErr  error
)

func iptablesCheck() error {
	iptOnce.Do(func() {
		out, err := exec.Command("iptables-restore", "--version").CombinedOutput()
		if err != nil {
			iptErr = fmt.Errorf("iptables-restore: %v: install iptables: %w", err, errdefs.ErrUnavailable)
			return
		}
		if strings.Contains(string(out), "legacy") {
			iptWait = []string{"-w"}
		}
	})
	return iptErr
}

// loadRuleset runs iptables-save (every table, one exec).
func loadRuleset(ctx context.Context) (*ruleset, error) {
	if err := iptablesCheck(); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "iptables-save").Output()
	if err != nil {
		return nil, fmt.Errorf("iptables-save: %w", err)
	}
	return parseRuleset(out), nil
}

// apply runs the script through iptables-restore --noflush.
func apply(ctx context.Context, s *script) error {
	if len(s.tables) == 0 {
		return nil
	}
	args := append([]string{"--noflush"}, iptWait...)
	cmd := exec.CommandContext(ctx, "iptables-restore", args...)
	cmd.Stdin = strings.NewReader(s.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
