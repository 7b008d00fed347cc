package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/internal/layout"
)

// imageInUse returns the check `image rm` and `image prune` use to refuse
// removing an image a container uses.
var imageInUse = containerImageInUse

func imgStore(g *globals) (*image.Store, error) {
	l := g.Layout()
	_ = layout.MkdirSpread(l.Data) // as engine.New does, whichever comes first; image.New reports a failure
	return image.New(image.Options{Root: l.Images()})
}

func addImageCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{
		Use:     "image",
		Short:   "Manage images",
		GroupID: "objects",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newImageImportCmd(g), newImageLoadCmd(g), newImageSaveCmd(g), newImageLsCmd(g),
		newImageTagCmd(g), newImageRmCmd(g), newImageBuildCmd(g), newImageInspectCmd(g), newImageHistoryCmd(g), newImagePruneCmd(g))
	root.AddCommand(cmd)
}

func newImageImportCmd(g *globals) *cobra.Command {
	var o image.ImportOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 2 {
				o.Ref = args[1]
			}
			o.Source = args[0]
			var r io.Reader = c.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import %q: %w", args[0], err)
				}
				defer f.Close()
				r = f
			}
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			img, err := s.Import(c.Context(), r, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), img.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	stringArrayVarP(fl, &o.Changes, "change", "c", "apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)")
	fl.StringVarP(&o.Message, "message", "m", "", "set a commit message for the imported image")
	return cmd
}

func newImageLoadCmd(g *globals) *cobra.Command {
	var o struct {
		Input string
		Quiet bool
	}
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive (docker save format or OCI layout) or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var r io.Reader = c.InOrStdin()
			if o.Input != "" {
				f, err := os.Open(o.Input)
				if err != nil {
					return fmt.Errorf("load %q: %w", o.Input, err)
				}
				defer f.Close()
				r = f
			} else if f, ok := r.(*os.File); ok && term.IsTerminal(f.Fd()) {
				return fmt.Errorf("requested load from stdin, but stdin is a terminal: use -i FILE or redirect: %w", errdefs.ErrInvalidArgument)
			}
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			imgs, err := s.Load(c.Context(), r)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				imgPrintLoaded(c.OutOrStdout(), img)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Input, "input", "i", "", "read from a tar archive file instead of STDIN")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "suppress the load progress")
	return cmd
}

func imgPrintLoaded(w io.Writer, img *image.Image) {
	if len(img.RepoTags) == 0 {
		fmt.Fprintf(w, "Loaded image ID: %s\n", img.ID)
	}
	for _, t := range img.RepoTags {
		fmt.Fprintf(w, "Loaded image: %s\n", t)
	}
}

func newImageSaveCmd(g *globals) *cobra.Command {
	var o struct{ Output string }
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			if o.Output == "" {
				w := c.OutOrStdout()
				if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
					return fmt.Errorf("cowardly refusing to save to a terminal: use -o FILE or redirect: %w", errdefs.ErrInvalidArgument)
				}
				return s.Save(c.Context(), w, args)
			}
			return imgSaveFile(c, s, o.Output, args)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

// imgSaveFile saves into a temp file next to out and renames it, so a
// failed save leaves no truncated archive.
func imgSaveFile(c *cobra.Command, s *image.Store, out string, refs []string) error {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save to %q: %w", out, err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	err = s.Save(c.Context(), w, refs)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), out)
	}
	if err != nil {
		return fmt.Errorf("save to %q: %w", out, err)
	}
	return nil
}

func newImageTagCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			return s.Tag(c.Context(), args[0], args[1])
		},
	}
}

func newImageRmCmd(g *globals) *cobra.Command {
	var o struct{ Force bool }
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove one or more images",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			opts := image.RemoveOptions{Force: o.Force, InUse: imageInUse(g)}
			var errs []error
			for _, ref := range args {
				lines, err := s.Remove(c.Context(), ref, opts)
				for _, l := range lines {
					fmt.Fprintln(c.OutOrStdout(), l)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			return imgJoinErrors(c, errs)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "force removal: untag an image with several names or one in use")
	return cmd
}

// imgJoinErrors prints all but the last error to stderr and returns the
// last, so each failed argument is reported once.
func imgJoinErrors(c *cobra.Command, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs[:len(errs)-1] {
		fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", err)
	}
	return errs[len(errs)-1]
}

// imgRow is what `image ls --format` templates see, with Docker's names.
type imgRow struct {
	Repository, Tag, ID, Digest, CreatedSince, CreatedAt, Size, Containers string
	labels                                                                 map[string]string
}

// Label returns one label of the image ({{.Label "key"}}).
func (r imgRow) Label(k string) string { return r.labels[k] }

// The `image ls` and `image history` tables.
var (
	imgLsTable = format.Table{
		Default: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
		Headers: map[string]string{"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
			"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS"},
		Compact: true,
	}
	imgHistoryTable = format.Table{
		Default: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
		Headers: map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
			"CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"},
		Compact: true,
	}
)

// imgShortID is Docker's IMAGE ID column: 12 hex digits, or the full id.
func imgShortID(id string, noTrunc bool) string {
	if noTrunc {
		return id
	}
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// imgSince is "2 minutes ago" as Docker prints it.
func imgSince(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(now.Sub(t)) + " ago"
}

// imgRows makes one row per name of each image (one "<none>" row for an
// image without names), keeping those match accepts.
func imgRows(imgs []*image.Image, noTrunc bool, now time.Time, match image.Filter) []imgRow {
	var rows []imgRow
	for _, img := range imgs {
		names := img.RepoTags
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			if !match(img, n) {
				continue
			}
			repo, tag := image.SplitRepoTag(n)
			if n == "" {
				repo, tag = "<none>", "<none>"
			}
			rows = append(rows, imgRow{Repository: repo, Tag: tag, ID: imgShortID(img.ID, noTrunc), Digest: "<none>",
				CreatedSince: imgSince(img.Created, now), CreatedAt: img.Created.Format("2006-01-02 15:04:05 -0700 MST"),
				Size: format.Size(img.Size), Containers: "N/A", labels: img.Config.Labels})
		}
	}
	return rows
}

func newImageLsCmd(g *globals) *cobra.Command {
	var o struct {
		All, Quiet, NoTrunc bool
		Format              string
		Filters             []string
	}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			filters := o.Filters
			if len(args) == 1 {
				filters = append(filters, "reference="+args[0])
			}
			match, err := image.ParseFilters(filters)
			if err != nil {
				return err
			}
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			imgs, err := s.List(c.Context())
			if err != nil {
				return err
			}
			rows := imgRows(imgs, o.NoTrunc, time.Now(), match)
			if o.Quiet {
				return imgPrintIDs(c.OutOrStdout(), rows)
			}
			return format.Rows(c.OutOrStdout(), o.Format, imgLsTable, format.Values(rows))
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.All, "all", "a", false, "show all images (berth keeps no intermediate images, so the same as without)")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "only show image IDs")
	fl.BoolVar(&o.NoTrunc, "no-trunc", false, "don't truncate output")
	fl.StringVar(&o.Format, "format", "", "output format: table, table TEMPLATE, json, or a Go template")
	stringArrayVarP(fl, &o.Filters, "filter", "", "filter output (reference=PATTERN, dangling=true|false, label=KEY[=VALUE])")
	return cmd
}

// imgPrintIDs prints each row's id once.
func imgPrintIDs(w io.Writer, rows []imgRow) error {
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.ID] {
			seen[r.ID] = true
			if _, err := fmt.Fprintln(w, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func newImageInspectCmd(g *globals) *cobra.Command {
	var o struct{ Format string }
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			var docs []image.Inspect
			var errs []error
			for _, ref := range args {
				img, err := s.Get(c.Context(), ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				docs = append(docs, img.Inspect())
			}
			if err := imgPrintInspect(c.OutOrStdout(), o.Format, docs); err != nil {
				return err
			}
			return imgJoinErrors(c, errs)
		},
	}
	cmd.Flags().StringVarP(&o.Format, "format", "f", "", "format the output using a Go template (or json)")
	return cmd
}

// imgPrintInspect prints a JSON array (like Docker, "[]" when empty), or
// each document through a template.
func imgPrintInspect(w io.Writer, f string, docs []image.Inspect) error {
	return format.Inspect(w, f, format.Values(docs))
}

// imgHistoryRow is what `image history --format` templates see.
type imgHistoryRow struct{ ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string }

// imgHistoryRows lists history newest first; only the top row has an id.
func imgHistoryRows(img *image.Image, noTrunc bool, now time.Time) []imgHistoryRow {
	rows := make([]imgHistoryRow, 0, len(img.History))
	for i := len(img.History) - 1; i >= 0; i-- {
		h := img.History[i]
		id := "<missing>"
		if i == len(img.History)-1 {
			id = imgShortID(img.ID, noTrunc)
		}
		by := strings.Join(strings.Fields(h.CreatedBy), " ")
		if !noTrunc && len([]rune(by)) > 45 {
			by = string([]rune(by)[:44]) + "…"
		}
		rows = append(rows, imgHistoryRow{ID: id, CreatedSince: imgSince(h.Created, now), CreatedAt: h.Created.Format(time.RFC3339),
			CreatedBy: by, Size: format.Size(h.Size), Comment: h.Comment})
	}
	return rows
}

func newImageHistoryCmd(g *globals) *cobra.Command {
	var o struct {
		NoTrunc, Quiet bool
		Format         string
	}
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			img, err := s.Get(c.Context(), args[0])
			if err != nil {
				return err
			}
			rows := imgHistoryRows(img, o.NoTrunc, time.Now())
			f := o.Format
			if o.Quiet {
				f = "{{.ID}}"
			}
			return format.Rows(c.OutOrStdout(), f, imgHistoryTable, format.Values(rows))
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.NoTrunc, "no-trunc", false, "don't truncate output")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "only show image IDs")
	fl.StringVar(&o.Format, "format", "", "output format: table, table TEMPLATE, json, or a Go template")
	return cmd
}

func newImagePruneCmd(g *globals) *cobra.Command {
	var o struct{ All, Force bool }
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			warn := "WARNING! This will remove all dangling images."
			if o.All {
				warn = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !o.Force && !format.Confirm(c.InOrStdin(), c.ErrOrStderr(), warn+"\nAre you sure you want to continue?") {
				return nil
			}
			s, err := imgStore(g)
			if err != nil {
				return err
			}
			lines, reclaimed, err := s.Prune(c.Context(), image.PruneOptions{All: o.All, InUse: imageInUse(g)})
			imgPrintPrune(c.OutOrStdout(), lines, reclaimed)
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.All, "all", "a", false, "remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

// imgPrintPrune prints prune's report the way Docker does.
func imgPrintPrune(w io.Writer, lines []string, reclaimed int64) {
	if len(lines) > 0 {
		fmt.Fprintln(w, "Deleted Images:")
		for _, l := range lines {
			verb, rest, _ := strings.Cut(l, " ")
			fmt.Fprintln(w, strings.ToLower(verb), rest)
		}
		fmt.Fprintln(w)
	}
	printReclaimed(w, reclaimed)
}

// printReclaimed ends a prune's report as docker's prune commands do (go-units'
// HumanSize: four significant digits).
func printReclaimed(w io.Writer, n int64) {
	fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(n)))
}
