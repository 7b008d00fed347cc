package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/format"
)

func newSystemDfCmd(g *globals) *cobra.Command {
	var o struct{ Format string }
	c := &cobra.Command{
		Use:   "df",
		Short: "Show berth disk usage",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			rows, err := e.DiskUsage(c.Context())
			if err != nil {
				return err
			}
			return format.Rows(c.OutOrStdout(), o.Format, dfTable, usageValues(rows))
		},
	}
	c.Flags().StringVar(&o.Format, "format", "", "format the output using a Go template, or json")
	return c
}

// dfTable is `system df`'s default table, with Docker's field names.
var dfTable = format.Table{
	Default: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
	Headers: map[string]string{"TotalCount": "TOTAL"},
}

// usageValues are df's rows as Docker's --format sees them.
func usageValues(rows []engine.Usage) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = map[string]any{"Type": r.Type, "TotalCount": r.Total, "Active": r.Active,
			"Size": format.Size(r.Size), "Reclaimable": reclaimable(r)}
	}
	return out
}

func reclaimable(r engine.Usage) string {
	pct := 0
	if r.Size > 0 {
		pct = int(r.Reclaimable * 100 / r.Size)
	}
	return fmt.Sprintf("%s (%d%%)", format.Size(r.Reclaimable), pct)
}

func newSystemPruneCmd(g *globals) *cobra.Command {
	var o engine.SystemPruneOptions
	var force bool
	c := &cobra.Command{
		Use:   "prune",
		Short: "Remove unused data",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !force && !format.Confirm(c.InOrStdin(), c.ErrOrStderr(), pruneWarning(o)) {
				return nil
			}
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			r, err := e.SystemPrune(c.Context(), o)
			printPruneReport(c.OutOrStdout(), r)
			return err
		},
	}
	c.Flags().BoolVarP(&o.All, "all", "a", false, "remove all unused images, not just dangling ones")
	c.Flags().BoolVar(&o.Volumes, "volumes", false, "prune anonymous volumes")
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return c
}

func pruneWarning(o engine.SystemPruneOptions) string {
	s := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
	if o.Volumes {
		s += "  - all anonymous volumes not used by at least one container\n"
	}
	if o.All {
		s += "  - all images without at least one container associated to them\n"
	} else {
		s += "  - all dangling images\n"
	}
	return s + "\nAre you sure you want to continue?"
}

func printPruneReport(w io.Writer, r engine.PruneReport) {
	section := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for _, it := range items {
			fmt.Fprintln(w, it)
		}
		fmt.Fprintln(w)
	}
	section("Deleted Containers:", r.Containers)
	section("Deleted Networks:", r.Networks)
	section("Deleted Volumes:", r.Volumes)
	section("Deleted Images:", r.Images)
	printReclaimed(w, r.Reclaimed)
}
