package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth/berth/internal/format"
)

// PsOptions are `container ps` flags.
type PsOptions struct {
	All     bool
	Quiet   bool
	Last    int // -n; -l is 1; 0 = all
	NoTrunc bool
	Filters []string // key=value
	Format  string   // "", "table ...", "json" or a template
	// Size (-s) adds the SIZE column to the default table. Ps prints the
	// sizes it finds in Details (Engine.Sizes computes them; "0B" without).
	Size bool
}

// DefaultPsFormat is Docker's ps table.
const DefaultPsFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// PsFormatUsesSize reports whether a --format template shows .Size: Docker's
// CLI then computes sizes without -s (unless -q or an explicit --size=false).
func PsFormatUsesSize(format string) bool {
	return format != "json" && strings.Contains(format, ".Size")
}

var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
	"Labels": "LABELS", "State": "STATE", "Mounts": "MOUNTS", "Networks": "NETWORKS",
	"Size": "SIZE", "LocalVolumes": "LOCAL VOLUMES",
}

// Ps filters, sorts and writes containers as `docker ps` does. now is the
// reference time for "Up 3 seconds".
func Ps(w io.Writer, list []*Details, o PsOptions, now time.Time) error {
	list, err := FilterPs(list, o)
	if err != nil {
		return err
	}
	rows := make([]psRow, len(list))
	for i, d := range list {
		rows[i] = psRow{d: d, trunc: !o.NoTrunc, now: now}
	}
	tmpl := o.Format
	switch {
	case o.Quiet && (tmpl == "" || strings.HasPrefix(tmpl, "table")):
		tmpl = "{{.ID}}"
	case tmpl == "" || tmpl == "table":
		tmpl = DefaultPsFormat
		if o.Size {
			tmpl += "\t{{.Size}}"
		}
	}
	if tmpl == "json" {
		for _, r := range rows {
			b, err := json.Marshal(r.jsonMap())
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
		}
		return nil
	}
	table := strings.HasPrefix(tmpl, "table")
	if table {
		tmpl = strings.TrimSpace(strings.TrimPrefix(tmpl, "table"))
	}
	t, err := format.Parse(tmpl)
	if err != nil {
		return err
	}
	var out io.Writer = w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var b bytes.Buffer
		if err := t.Option("missingkey=zero").Execute(&b, psHeaderCtx{}); err == nil {
			fmt.Fprintf(out, "%s\n", b.String())
		}
	}
	for _, r := range rows {
		var b bytes.Buffer
		if err := t.Execute(&b, r); err != nil {
			return invalid("template %q: %v", o.Format, err)
		}
		fmt.Fprintf(out, "%s\n", b.String())
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// FilterPs applies -a, --filter and -n to list and returns it newest first.
func FilterPs(list []*Details, o PsOptions) ([]*Details, error) {
	f, err := parsePsFilters(o.Filters)
	if err != nil {
		return nil, err
	}
	var out []*Details
	for _, d := range list {
		if !o.All && o.Last == 0 && !d.State.Running && !d.State.Restarting && !f.has("status") {
			continue
		}
		if f.match(d) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return parseTime(out[i].Created).After(parseTime(out[j].Created)) })
	if o.Last > 0 && len(out) > o.Last {
		out = out[:o.Last]
	}
	return out, nil
}

type psFilters map[string][]string

func parsePsFilters(fs []string) (psFilters, error) {
	out := psFilters{}
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, invalid("invalid --filter %q: use KEY=VALUE", f)
		}
		switch k {
		case "label", "name", "id", "ancestor", "exited", "health":
		case "status":
			switch v {
			case "created", "restarting", "running", "removing", "paused", "exited", "dead":
			default:
				return nil, invalid("invalid --filter status=%q: use created, restarting, running, removing, paused, exited or dead", v)
			}
		case "network", "volume":
		default:
			return nil, invalid("invalid --filter %q: berth filters by label, name, id, status, ancestor, exited, health, network or volume", f)
		}
		if k == "name" {
			if _, err := regexp.Compile(v); err != nil {
				return nil, invalid("invalid --filter %q: %v", f, err)
			}
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

func (f psFilters) has(k string) bool { return len(f[k]) > 0 }

// match: values of one key are OR'd, keys are AND'd (Docker's rule).
func (f psFilters) match(d *Details) bool {
	for k, vals := range f {
		ok := false
		for _, v := range vals {
			if matchOne(d, k, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func matchOne(d *Details, k, v string) bool {
	switch k {
	case "label":
		lk, lv, hasVal := strings.Cut(v, "=")
		got, ok := d.Config.Labels[lk]
		return ok && (!hasVal || got == lv)
	case "name":
		re := regexp.MustCompile(v)
		return re.MatchString(strings.TrimPrefix(d.Name, "/"))
	case "id":
		return strings.HasPrefix(d.ID, v)
	case "status":
		return d.State.Status == v
	case "ancestor":
		return d.Config.Image == v || strings.HasPrefix(d.Config.Image, v+":") ||
			d.Image == v || strings.HasPrefix(strings.TrimPrefix(d.Image, "sha256:"), strings.TrimPrefix(v, "sha256:"))
	case "exited":
		return d.State.Status == "exited" && strconv.Itoa(d.State.ExitCode) == v
	case "health":
		h := "none"
		if d.State.Health != nil {
			h = d.State.Health.Status
		}
		return h == v
	case "network":
		_, ok := d.NetworkSettings.Networks[v]
		return ok
	case "volume":
		for _, m := range d.Mounts {
			if m.Name == v || m.Destination == v || m.Source == v {
				return true
			}
		}
	}
	return false
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// StatusText is Docker's ps STATUS column: "Up 3 seconds (healthy)",
// "Exited (137) 5 seconds ago", "Created".
func StatusText(s StateDetails, now time.Time) string {
	ago := func(ts string) string {
		t := parseTime(ts)
		if t.IsZero() {
			return ""
		}
		return " " + units.HumanDuration(now.Sub(t)) + " ago"
	}
	switch s.Status {
	case "running", "paused":
		out := "Up " + units.HumanDuration(now.Sub(parseTime(s.StartedAt)))
		if s.Status == "paused" {
			return out + " (Paused)"
		}
		if s.Health != nil {
			switch s.Health.Status {
			case "starting":
				out += " (health: starting)"
			case "healthy", "unhealthy":
				out += " (" + s.Health.Status + ")"
			}
		}
		return out
	case "restarting":
		return fmt.Sprintf("Restarting (%d)%s", s.ExitCode, ago(s.FinishedAt))
	case "exited":
		return fmt.Sprintf("Exited (%d)%s", s.ExitCode, ago(s.FinishedAt))
	case "dead":
		return "Dead"
	case "removing":
		return "Removal In Progress"
	}
	return "Created"
}

// PortsText is Docker's PORTS column: "127.0.0.1:8080->80/tcp, 443/tcp".
func PortsText(ports map[string][]PortBinding) string {
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, _ := strconv.Atoi(strings.Split(keys[i], "/")[0])
		pj, _ := strconv.Atoi(strings.Split(keys[j], "/")[0])
		if pi != pj {
			return pi < pj
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys {
		if len(ports[k]) == 0 {
			out = append(out, k)
			continue
		}
		for _, b := range ports[k] {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, fmt.Sprintf("%s:%s->%s", ip, b.HostPort, k))
		}
	}
	return strings.Join(out, ", ")
}

// psRow is one ps row as templates see it.
type psRow struct {
	d     *Details
	trunc bool
	now   time.Time
}

// ID is the container id, 12 characters unless --no-trunc.
func (r psRow) ID() string {
	if r.trunc && len(r.d.ID) > 12 {
		return r.d.ID[:12]
	}
	return r.d.ID
}

// Image is the image as the user named it (a short id for an id).
func (r psRow) Image() string {
	img := r.d.Config.Image
	if img == "" {
		img = r.d.Image
	}
	if r.trunc && strings.HasPrefix(img, "sha256:") {
		img = strings.TrimPrefix(img, "sha256:")
		if len(img) > 12 {
			img = img[:12]
		}
	}
	return img
}

// Command is the quoted command line, cut at 20 characters unless --no-trunc.
func (r psRow) Command() string {
	cmd := strings.Join(append([]string{r.d.Path}, r.d.Args...), " ")
	if r.trunc && utf8Len(cmd) > 20 {
		cmd = string([]rune(cmd)[:19]) + "…"
	}
	return strconv.Quote(cmd)
}

func utf8Len(s string) int { return len([]rune(s)) }

// CreatedAt is the creation time as Docker prints it.
func (r psRow) CreatedAt() string {
	return parseTime(r.d.Created).Local().Format("2006-01-02 15:04:05 -0700 MST")
}

// RunningFor is "5 minutes ago".
func (r psRow) RunningFor() string {
	return units.HumanDuration(r.now.Sub(parseTime(r.d.Created))) + " ago"
}

// Status is the STATUS column.
func (r psRow) Status() string { return StatusText(r.d.State, r.now) }

// State is the status word (running, exited...).
func (r psRow) State() string { return r.d.State.Status }

// Ports is the PORTS column.
func (r psRow) Ports() string { return PortsText(r.d.NetworkSettings.Ports) }

// Names is the container's name.
func (r psRow) Names() string { return strings.TrimPrefix(r.d.Name, "/") }

// Labels is "k=v,k2=v2".
func (r psRow) Labels() string {
	keys := make([]string, 0, len(r.d.Config.Labels))
	for k := range r.d.Config.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + r.d.Config.Labels[k]
	}
	return strings.Join(keys, ",")
}

// Label is the value of one label.
func (r psRow) Label(name string) string { return r.d.Config.Labels[name] }

// Mounts names the container's volumes and bind sources.
func (r psRow) Mounts() string {
	var out []string
	for _, m := range r.d.Mounts {
		n := m.Name
		if n == "" {
			n = m.Source
		}
		if r.trunc && len(n) > 15 && m.Name != "" {
			n = n[:15] + "…"
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

// Networks names the networks the container is on.
func (r psRow) Networks() string {
	var out []string
	for n := range r.d.NetworkSettings.Networks {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// LocalVolumes counts the container's volumes.
func (r psRow) LocalVolumes() string {
	n := 0
	for _, m := range r.d.Mounts {
		if m.Type == "volume" {
			n++
		}
	}
	return strconv.Itoa(n)
}

// Size is the SIZE column as Docker prints it: the writable layer's bytes
// and, when known, the virtual size (plus the image's): "307kB (virtual
// 4.26MB)". It is "0B" when sizes were not computed.
func (r psRow) Size() string { return sizeText(r.d.SizeRw, r.d.SizeRootFs) }

// sizeText is Docker's container size text for a writable layer of rw bytes
// and a root filesystem (writable layer plus image) of rootFs bytes; nil
// counts as 0, and the virtual part is left out when rootFs is 0.
func sizeText(rw, rootFs *int64) string {
	var n, v int64
	if rw != nil {
		n = *rw
	}
	if rootFs != nil {
		v = *rootFs
	}
	if v > 0 {
		return fmt.Sprintf("%s (virtual %s)", format.Size(n), format.Size(v))
	}
	return format.Size(n)
}

func (r psRow) jsonMap() map[string]string {
	return map[string]string{
		"Command": r.Command(), "CreatedAt": r.CreatedAt(), "ID": r.ID(), "Image": r.Image(),
		"Labels": r.Labels(), "LocalVolumes": r.LocalVolumes(), "Mounts": r.Mounts(), "Names": r.Names(),
		"Networks": r.Networks(), "Ports": r.Ports(), "RunningFor": r.RunningFor(), "Size": r.Size(),
		"State": r.State(), "Status": r.Status(),
	}
}

// psHeaderCtx renders a table template's header line.
type psHeaderCtx struct{}

func (psHeaderCtx) ID() string           { return psHeaders["ID"] }
func (psHeaderCtx) Image() string        { return psHeaders["Image"] }
func (psHeaderCtx) Command() string      { return psHeaders["Command"] }
func (psHeaderCtx) CreatedAt() string    { return psHeaders["CreatedAt"] }
func (psHeaderCtx) RunningFor() string   { return psHeaders["RunningFor"] }
func (psHeaderCtx) Status() string       { return psHeaders["Status"] }
func (psHeaderCtx) State() string        { return psHeaders["State"] }
func (psHeaderCtx) Ports() string        { return psHeaders["Ports"] }
func (psHeaderCtx) Names() string        { return psHeaders["Names"] }
func (psHeaderCtx) Labels() string       { return psHeaders["Labels"] }
func (psHeaderCtx) Label(string) string  { return "LABEL" }
func (psHeaderCtx) Mounts() string       { return psHeaders["Mounts"] }
func (psHeaderCtx) Networks() string     { return psHeaders["Networks"] }
func (psHeaderCtx) LocalVolumes() string { return psHeaders["LocalVolumes"] }
func (psHeaderCtx) Size() string         { return psHeaders["Size"] }
