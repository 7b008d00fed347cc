package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/network"
)

// newNetworkManager opens the network store of the selected root.
func newNetworkManager(g *globals) (*network.Manager, error) {
	l := g.Layout()
	return network.New(network.Options{Root: l.Networks(), RunRoot: l.Network(), NetNSDir: l.NetNS()})
}

func addNetworkCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{
		Use:     "network",
		Short:   "Manage networks",
		GroupID: "objects",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newNetworkCreateCmd(g), newNetworkLsCmd(g),
		newNetworkInspectCmd(g), newNetworkRmCmd(g), newNetworkPruneCmd(g),
		newNetworkConnectCmd(g), newNetworkDisconnectCmd(g))
	root.AddCommand(cmd)
}

type networkCreateFlags struct {
	Driver, Subnet, Gateway string
	Internal, Attachable    bool
	IPv6                    bool
	Labels, Opts            []string
}

func newNetworkCreateCmd(g *globals) *cobra.Command {
	var f networkCreateFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.Driver != "bridge" {
				return fmt.Errorf("network driver %q: only bridge is supported: %w", f.Driver, errdefs.ErrNotImplemented)
			}
			if f.IPv6 {
				return fmt.Errorf("--ipv6: IPv6 networks are not supported yet: %w", errdefs.ErrNotImplemented)
			}
			labels, err := format.KeyValues("label", f.Labels, true)
			if err != nil {
				return err
			}
			opts, err := format.KeyValues("opt", f.Opts, true)
			if err != nil {
				return err
			}
			m, err := newNetworkManager(g)
			if err != nil {
				return err
			}
			n, err := m.Create(c.Context(), network.CreateOptions{Name: args[0], Subnet: f.Subnet,
				Gateway: f.Gateway, Internal: f.Internal, Labels: labels, Options: opts})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), n.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.Driver, "driver", "d", "bridge", "driver to manage the network")
	fl.StringVar(&f.Subnet, "subnet", "", "subnet in CIDR format (default: a free one from the pool)")
	fl.StringVar(&f.Gateway, "gateway", "", "IPv4 gateway for the subnet")
	fl.BoolVar(&f.Internal, "internal", false, "restrict external access to the network")
	fl.BoolVar(&f.Attachable, "attachable", false, "accepted for compatibility: every berth network is attachable")
	fl.BoolVar(&f.IPv6, "ipv6", false, "enable IPv6 (not supported yet)")
	stringArrayVarP(fl, &f.Labels, "label", "", "set metadata on a network (key=value)")
	stringArrayVarP(fl, &f.Opts, "opt", "o", "set driver specific options (key=value)")
	return cmd
}

type networkLsFlags struct {
	Quiet, NoTrunc bool
	Format         string
	Filters        []string
}

// networkRow is what `network ls --format` templates see.
type networkRow struct {
	ID, Name, Driver, Scope, CreatedAt string
	IPv6, Internal                     bool
	Labels                             string
	labels                             map[string]string
}

// Label returns the value of one label (Docker's {{.Label "k"}}).
func (r networkRow) Label(k string) string { return r.labels[k] }

func newNetworkLsCmd(g *globals) *cobra.Command {
	var f networkLsFlags
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			m, err := newNetworkManager(g)
			if err != nil {
				return err
			}
			nets, err := m.List(c.Context())
			if err != nil {
				return err
			}
			nets, err = networkFilter(nets, f.Filters)
			if err != nil {
				return err
			}
			return networkPrintList(c.OutOrStdout(), nets, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.Quiet, "quiet", "q", false, "only display network IDs")
	fl.BoolVar(&f.NoTrunc, "no-trunc", false, "do not truncate the output")
	fl.StringVar(&f.Format, "format", "", "format output: table, json, or a Go template")
	stringArrayVarP(fl, &f.Filters, "filter", "f", "filter output (name=, id=, label=, driver=, scope=, type=)")
	return cmd
}

// networkFilter keeps the networks matching every filter key (values of one
// key are alternatives, as in Docker).
func networkFilter(nets []*network.Network, filters []string) ([]*network.Network, error) {
	want := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch k {
		case "name", "id", "label", "driver", "scope", "type":
		default:
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("filter %q: want name=, id=, label=, driver=, scope= or type=: %w", f, errdefs.ErrInvalidArgument)
		}
		want[k] = append(want[k], v)
	}
	var out []*network.Network
	for _, n := range nets {
		if networkMatches(n, want) {
			out = append(out, n)
		}
	}
	return out, nil
}

func networkMatches(n *network.Network, want map[string][]string) bool {
	test := func(key string, match func(v string) bool) bool {
		vs, ok := want[key]
		if !ok {
			return true
		}
		for _, v := range vs {
			if match(v) {
				return true
			}
		}
		return false
	}
	return test("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		test("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		test("driver", func(v string) bool { return n.Driver == v }) &&
		test("scope", func(v string) bool { return v == "local" }) &&
		test("type", func(v string) bool { return (v == "builtin") == (n.Name == network.DefaultName) }) &&
		networkLabelsMatch(n.Labels, want["label"])
}

// networkLabelsMatch: every label filter ("k" or "k=v") must hold.
func networkLabelsMatch(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, hasV := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}

func networkPrintList(w io.Writer, nets []*network.Network, f networkLsFlags) error {
	rows := make([]networkRow, 0, len(nets))
	for _, n := range nets {
		id := n.ID
		if !f.NoTrunc {
			id = id[:12]
		}
		rows = append(rows, networkRow{ID: id, Name: n.Name, Driver: n.Driver, Scope: "local",
			CreatedAt: n.Created.Format("2006-01-02 15:04:05.999999999 -0700 MST"), Internal: n.Internal,
			Labels: networkJoinLabels(n.Labels), labels: n.Labels})
	}
	if f.Quiet {
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
		return nil
	}
	return format.Rows(w, f.Format, networkTable, format.Values(rows))
}

// networkTable is the table of `network ls`.
var networkTable = format.Table{
	Default: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
	Headers: map[string]string{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
		"CreatedAt": "CREATED AT", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS"},
	Compact: true,
}

func networkJoinLabels(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// networkInspect is Docker's network inspect document.
type networkInspect struct {
	Name       string
	ID         string `json:"Id"`
	Created    time.Time
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       networkIPAM
	Internal   bool
	Attachable bool
	Ingress    bool
	Containers map[string]networkInspectEndpoint
	Options    map[string]string
	Labels     map[string]string
}

type networkIPAM struct {
	Driver  string
	Options map[string]string
	Config  []networkIPAMConfig
}

type networkIPAMConfig struct{ Subnet, Gateway string }

type networkInspectEndpoint struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

func networkInspectDoc(n *network.Network, eps []network.Endpoint) networkInspect {
	doc := networkInspect{Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		IPAM:       networkIPAM{Driver: "default", Options: map[string]string{}, Config: []networkIPAMConfig{{Subnet: n.Subnet, Gateway: n.Gateway}}},
		Internal:   n.Internal,
		Containers: map[string]networkInspectEndpoint{},
		Options:    map[string]string{network.OptBridgeName: n.Bridge},
		Labels:     map[string]string{},
	}
	for k, v := range n.Options {
		doc.Options[k] = v
	}
	for k, v := range n.Labels {
		doc.Labels[k] = v
	}
	for _, e := range eps {
		doc.Containers[e.ContainerID] = networkInspectEndpoint{Name: e.ContainerName, MacAddress: e.MAC,
			IPv4Address: e.IP + "/" + strconv.Itoa(e.PrefixLen)}
	}
	return doc
}

func newNetworkInspectCmd(g *globals) *cobra.Command {
	var f string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			m, err := newNetworkManager(g)
			if err != nil {
				return err
			}
			docs := []any{}
			var errs []error
			for _, ref := range args {
				n, err := m.Get(c.Context(), ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				eps, err := m.Endpoints(c.Context(), n.ID)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				docs = append(docs, networkInspectDoc(n, eps))
			}
			if err := format.Inspect(c.OutOrStdout(), f, docs); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&f, "format", "f", "", "format the output using a Go template (or json)")
	return cmd
}

func newNetworkRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				n, err := e.Networks.Get(c.Context(), ref)
				if err == nil {
					err = e.RemoveNetwork(c.Context(), n.ID)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return errors.Join(errs...)
		},
	}
}

func newNetworkPruneCmd(g *globals) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !force && !format.Confirm(c.InOrStdin(), c.ErrOrStderr(),
				"WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?") {
				return nil
			}
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			nets, err := e.Networks.List(c.Context())
			if err != nil {
				return err
			}
			if nets, err = networkFilter(nets, filters); err != nil {
				return err
			}
			var removed []string
			for _, n := range nets {
				if n.Name == network.DefaultName {
					continue // predefined, as in Docker
				}
				err := e.RemoveNetwork(c.Context(), n.ID)
				if errdefs.Is(err, errdefs.ErrFailedPrecondition) || errdefs.IsNotFound(err) {
					continue // in use, or removed meanwhile
				}
				if err != nil {
					return err
				}
				removed = append(removed, n.Name)
			}
			if len(removed) > 0 {
				fmt.Fprintln(c.OutOrStdout(), "Deleted Networks:")
				for _, name := range removed {
					fmt.Fprintln(c.OutOrStdout(), name)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVarP(cmd.Flags(), &filters, "filter", "", "provide filter values (e.g. label=key=value)")
	return cmd
}
