package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/errdefs"
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

// volKeyValues parses repeated key=value flags; withoutValue allows a bare
// key (a label with an empty value).
func volKeyValues(flag string, kvs []string, withoutValue bool) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" || (!ok && !withoutValue) {
			return nil, fmt.Errorf("--%s %q: %w: use key=value", flag, kv, errdefs.ErrInvalidArgument)
		}
		m[k] = v
	}
	return m, nil
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
			labels, err := volKeyValues("label", o.Labels, true)
			if err != nil {
				return err
			}
			opts, err := volKeyValues("opt", o.Opts, false)
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
	f.StringArrayVar(&o.Labels, "label", nil, "set metadata on a volume (key=value)")
	f.StringArrayVarP(&o.Opts, "opt", "o", nil, "driver options: type, device, o (e.g. -o type=tmpfs -o device=tmpfs -o o=size=64m)")
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

var volHeaders = map[string]string{"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
	"Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "CreatedAt": "CREATED", "Size": "SIZE"}

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
			format := o.Format
			if o.Quiet {
				format = "{{.Name}}"
			}
			return volWriteRows(c.OutOrStdout(), format, "table {{.Driver}}\t{{.Name}}", volHeaders, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only display volume names")
	f.StringVar(&o.Format, "format", "", "output format: table, table TEMPLATE, json, or a Go template")
	f.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter output (name=, label=, label!=, dangling=true|false, driver=)")
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

var volFieldRe = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

// volTemplate parses a --format template with the functions Docker offers.
func volTemplate(text string) (*template.Template, error) {
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"split": strings.Split,
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"title": func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"truncate": func(s string, n int) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
	}
	t, err := template.New("format").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("--format %q: %w: %v", text, errdefs.ErrInvalidArgument, err)
	}
	return t, nil
}

// volWriteRows prints rows as a table (format "" or "table [TEMPLATE]",
// with headers), as JSON lines ("json"), or through a Go template.
func volWriteRows(w io.Writer, format, table string, headers map[string]string, rows []any) error {
	switch {
	case format == "json":
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case format == "" || format == "table":
		format = table
	}
	isTable := strings.HasPrefix(format, "table")
	text := strings.TrimSpace(strings.TrimPrefix(format, "table"))
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	t, err := volTemplate(text + "\n")
	if err != nil {
		return err
	}
	out := w
	var tw *tabwriter.Writer
	if isTable {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0) // Docker CLI's table layout
		out = tw
		header := volFieldRe.ReplaceAllStringFunc(text, func(m string) string {
			f := volFieldRe.FindStringSubmatch(m)[1]
			if h, ok := headers[f]; ok {
				return h
			}
			return strings.ToUpper(f)
		})
		fmt.Fprintln(tw, header)
	}
	for _, r := range rows {
		if err := t.Execute(out, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
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
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := volStore(g)
			if err != nil {
				return err
			}
			var found []volInspect
			var errs []error
			for _, name := range args {
				v, err := s.Get(c.Context(), name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				found = append(found, newVolInspect(v))
			}
			if err := volPrintInspect(c.OutOrStdout(), format, found); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format the output using a Go template, or json")
	return cmd
}

func volPrintInspect(w io.Writer, format string, vols []volInspect) error {
	if format == "" || format == "json" {
		if vols == nil {
			vols = []volInspect{}
		}
		b, err := json.MarshalIndent(vols, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	t, err := volTemplate(strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format) + "\n")
	if err != nil {
		return err
	}
	for _, v := range vols {
		if err := t.Execute(w, v); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	return nil
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
			fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	f.BoolVarP(&o.Force, "force", "f", false, "do not prompt for confirmation")
	f.StringArrayVar(&o.Filters, "filter", nil, "provide filter values (label=, label!=, all=true)")
	return cmd
}

// volConfirm asks on stderr and reads the answer from stdin.
func volConfirm(c *cobra.Command, all bool) bool {
	what := "anonymous local volumes"
	if all {
		what = "all local volumes"
	}
	fmt.Fprintf(c.ErrOrStderr(), "WARNING! This will remove %s not used by at least one container.\nAre you sure you want to continue? [y/N] ", what)
	line, _ := bufio.NewReader(c.InOrStdin()).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
