package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/volume"
)

// volumeInUse returns the check the volume commands use to refuse removing
// (and to call dangling) a volume a container uses: any container, running
// or not, that mounts it (container_inuse.go). Tests replace it.
var volumeInUse = containerVolumeInUse

func volStore(g *globals) (*volume.Store, error) {
	return volume.New(volume.Options{Root: g.Layout().Volumes()})
}

func addVolumeCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{
		Use:     "volume",
		Short:   "Manage volumes",
		GroupID: "objects",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newVolumeCreateCmd(g), newVolumeLsCmd(g), newVolumeInspectCmd(g),
		newVolumeRmCmd(g), newVolumePruneCmd(g))
	root.AddCommand(cmd)
}

func newVolumeCreateCmd(g *globals) *cobra.Command {
	var o struct {
		Driver       string
		Labels, Opts []string
		Name         string
	}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := o.Name
			if len(args) == 1 {
				if name != "" && name != args[0] {
					return fmt.Errorf("conflicting names %q and %q: %w", name, args[0], errdefs.ErrInvalidArgument)
				}
				name = args[0]
			}
			labels, err := format.KeyValues("label", o.Labels, true)
			if err != nil {
				return err
			}
			opts, err := format.KeyValues("opt", o.Opts, false)
			if err != nil {
				return err
			}
			s, err := volStore(g)
			if err != nil {
				return err
			}
			v, err := s.Create(c.Context(), name, volume.CreateOptions{Driver: o.Driver, Labels: labels, Options: opts})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Driver, "driver", "d", volume.DefaultDriver, "volume driver name")
	stringArrayVarP(f, &o.Labels, "label", "", "set metadata on a volume (key=value)")
	stringArrayVarP(f, &o.Opts, "opt", "o", "driver options: type, device, o (e.g. -o type=tmpfs -o device=tmpfs -o o=size=64m)")
	f.StringVar(&o.Name, "name", "", "volume name")
	f.MarkHidden("name")
	return cmd
}

// volRow is what ls templates see, with Docker's field names.
type volRow struct {
	Name, Driver, Scope, Mountpoint, Labels, CreatedAt, Size string
	labels                                                   map[string]string
}

// Label returns the value of one label ({{.Label "key"}}).
func (r volRow) Label(k string) string { return r.labels[k] }

func newVolRow(v *volume.Volume) volRow {
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(v.Labels)) {
		ls = append(ls, k+"="+v.Labels[k])
	}
	return volRow{Name: v.Name, Driver: v.Driver, Scope: "local", Mountpoint: v.Mountpoint,
		Labels: strings.Join(ls, ","), CreatedAt: v.CreatedAt.Format(time.RFC3339), Size: "N/A", labels: v.Labels}
}

// volTable is the table of `volume ls`.
var volTable = format.Table{
	Default: "table {{.Driver}}\t{{.Name}}",
	Headers: map[string]string{"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
		"Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "CreatedAt": "CREATED", "Size": "SIZE"},
}

func newVolumeLsCmd(g *globals) *cobra.Command {
	var o struct {
		Quiet   bool
		Format  string
		Filters []string
	}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			match, err := volParseFilters(o.Filters, g)
			if err != nil {
				return err
			}
			s, err := volStore(g)
			if err != nil {
				return err
			}
			vols, err := s.List(c.Context())
			if err != nil {
				return err
			}
			var rows []any
			for _, v := range vols {
				if match(v) {
					rows = append(rows, newVolRow(v))
				}
			}
			f := o.Format
			if o.Quiet {
				f = "{{.Name}}"
			}
			return format.Rows(c.OutOrStdout(), f, volTable, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only display volume names")
	f.StringVar(&o.Format, "format", "", "output format: table, table TEMPLATE, json, or a Go template")
	stringArrayVarP(f, &o.Filters, "filter", "f", "filter output (name=, label=, label!=, dangling=true|false, driver=)")
	return cmd
}

// volParseFilters turns ls/prune --filter values into a predicate.
func volParseFilters(filters []string, g *globals) (func(*volume.Volume) bool, error) {
	var preds []func(*volume.Volume) bool
	var inUse func(string) bool
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		neg := strings.HasSuffix(k, "!")
		k = strings.TrimSuffix(k, "!")
		if !ok || (neg && k != "label") {
			return nil, fmt.Errorf("filter %q: %w: use key=value", f, errdefs.ErrInvalidArgument)
		}
		switch k {
		case "name":
			preds = append(preds, func(vol *volume.Volume) bool { return strings.Contains(vol.Name, v) })
		case "driver":
			preds = append(preds, func(vol *volume.Volume) bool { return vol.Driver == v })
		case "label":
			expr := v
			if neg {
				expr = "!" + v
			}
			preds = append(preds, func(vol *volume.Volume) bool { return volume.MatchLabels(vol.Labels, []string{expr}) })
		case "dangling":
			want := v == "true" || v == "1"
			if !want && v != "false" && v != "0" {
				return nil, fmt.Errorf("filter %q: %w: dangling takes true or false", f, errdefs.ErrInvalidArgument)
			}
			if inUse == nil {
				inUse = volumeInUse(g)
			}
			preds = append(preds, func(vol *volume.Volume) bool { return !inUse(vol.Name) == want })
		default:
			return nil, fmt.Errorf("filter %q: %w: volumes filter by name, label, label!, dangling or driver", f, errdefs.ErrInvalidArgument)
		}
	}
	return func(vol *volume.Volume) bool {
		for _, p := range preds {
			if !p(vol) {
				return false
			}
		}
		return true
	}, nil
}

// volInspect is Docker's volume inspect object.
type volInspect struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

func newVolInspect(v *volume.Volume) volInspect {
	vi := volInspect{CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Labels: v.Labels,
		Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: "local"}
	if len(vi.Labels) == 0 {
		vi.Labels = nil
	}
	if len(vi.Options) == 0 {
		vi.Options = nil
	}
	return vi
}

func newVolumeInspectCmd(g *globals) *cobra.Command {
	var f string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := volStore(g)
			if err != nil {
				return err
			}
			var found []any
			var errs []error
			for _, name := range args {
				v, err := s.Get(c.Context(), name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				found = append(found, newVolInspect(v))
			}
			if err := format.Inspect(c.OutOrStdout(), f, found); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&f, "format", "f", "", "format the output using a Go template, or json")
	return cmd
}

func newVolumeRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := volStore(g)
			if err != nil {
				return err
			}
			inUse := volumeInUse(g)
			var errs []error
			for _, name := range args {
				err := s.Remove(c.Context(), name, inUse)
				switch {
				case err == nil:
					fmt.Fprintln(c.OutOrStdout(), name)
				case force && errdefs.IsNotFound(err):
				default:
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail on volumes that do not exist")
	return cmd
}

func newVolumePruneCmd(g *globals) *cobra.Command {
	var o struct {
		All, Force bool
		Filters    []string
	}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused volumes (only anonymous ones unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			po := volume.PruneOptions{All: o.All}
			for _, f := range o.Filters {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "label":
					po.Labels = append(po.Labels, v)
				case "label!":
					po.Labels = append(po.Labels, "!"+v)
				case "all":
					po.All = po.All || v == "true" || v == "1"
				default:
					return fmt.Errorf("filter %q: %w: prune filters by label, label! or all", f, errdefs.ErrInvalidArgument)
				}
			}
			if !o.Force && !volConfirm(c, po.All) {
				return nil
			}
			s, err := volStore(g)
			if err != nil {
				return err
			}
			rep, err := s.Prune(c.Context(), volumeInUse(g), po)
			w := c.OutOrStdout()
			if len(rep.Removed) > 0 {
				fmt.Fprintln(w, "Deleted Volumes:")
				for _, n := range rep.Removed {
					fmt.Fprintln(w, n)
				}
				fmt.Fprintln(w)
			}
			printReclaimed(w, rep.SpaceReclaimed)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	f.BoolVarP(&o.Force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVarP(f, &o.Filters, "filter", "", "provide filter values (label=, label!=, all=true)")
	return cmd
}

// volConfirm asks on stderr and reads the answer from stdin.
func volConfirm(c *cobra.Command, all bool) bool {
	what := "anonymous local volumes"
	if all {
		what = "all local volumes"
	}
	return format.Confirm(c.InOrStdin(), c.ErrOrStderr(),
		"WARNING! This will remove "+what+" not used by at least one container.\nAre you sure you want to continue?")
}
