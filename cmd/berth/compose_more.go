//go:build !berthcore

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
)

// serviceContainer returns the running-or-not container number index of
// service.
func serviceContainer(ctx context.Context, env *projectEnv, service string, index int) (compose.ObservedContainer, error) {
	list, err := projectContainers(ctx, env, []string{service}, false)
	if err != nil {
		return compose.ObservedContainer{}, err
	}
	for _, c := range list {
		if c.Number == index {
			return c, nil
		}
	}
	return compose.ObservedContainer{}, fmt.Errorf("service %q: no container number %d: %w", service, index, errdefs.ErrNotFound)
}

func newComposeTopCmd(g *globals) *cobra.Command {
	return newComposeEachCmd(g, "top [SERVICE...]", "Display the running processes", false, nil,
		func(ctx context.Context, c *cobra.Command, e *engine.Engine, ct compose.ObservedContainer) error {
			list, err := e.Runtime.Processes(ctx, ct.ID, nil)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), ct.Name)
			if err := writeTop(c.OutOrStdout(), list); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout())
			return nil
		})
}

func newComposePortCmd(g *globals) *cobra.Command {
	var proto string
	var index int
	c := &cobra.Command{Use: "port [OPTIONS] SERVICE PRIVATE_PORT", Short: "Print the public port for a port binding",
		GroupID: "compose", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			ct, err := serviceContainer(c.Context(), env, args[0], index)
			if err != nil {
				return err
			}
			lines, err := env.e.PortLines(c.Context(), ct.ID, args[1]+"/"+proto)
			if err != nil {
				return err
			}
			if len(lines) == 0 {
				return fmt.Errorf("service %q: port %s/%s is not published: %w", args[0], args[1], proto, errdefs.ErrNotFound)
			}
			for _, l := range lines { // "IP:PORT" (older: "8080/tcp -> IP:PORT")
				if _, host, ok := strings.Cut(l, " -> "); ok {
					l = host
				}
				fmt.Fprintln(c.OutOrStdout(), l)
			}
			return nil
		}}
	c.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	c.Flags().IntVar(&index, "index", 1, "index of the container if the service has multiple replicas")
	return c
}

func newComposeImagesCmd(g *globals) *cobra.Command {
	var quiet bool
	var f string
	c := &cobra.Command{Use: "images [OPTIONS] [SERVICE...]", Short: "List the images used by the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			list, err := projectContainers(c.Context(), env, services, true)
			if err != nil {
				return err
			}
			if f != "table" && f != "json" {
				return fmt.Errorf("--format %q: use table or json: %w", f, errdefs.ErrInvalidArgument)
			}
			var rows []map[string]any
			var table []any
			for _, ct := range list {
				img, err := env.e.Images.Get(c.Context(), ct.ImageID)
				if err != nil {
					continue
				}
				id := strings.TrimPrefix(img.ID, "sha256:")
				if quiet {
					table = append(table, composeImageRow{ID: id})
					continue
				}
				repo, tag := "<none>", "<none>"
				if len(img.RepoTags) > 0 {
					i := strings.LastIndex(img.RepoTags[0], ":")
					repo, tag = img.RepoTags[0][:i], img.RepoTags[0][i+1:]
				}
				if f == "json" {
					rows = append(rows, map[string]any{"ContainerName": ct.Name, "Repository": repo, "Tag": tag, "ID": img.ID, "Size": img.Size})
					continue
				}
				table = append(table, composeImageRow{Container: ct.Name, Repository: repo, Tag: tag, ID: id[:12], Size: units.HumanSize(float64(img.Size))})
			}
			if f == "json" && !quiet {
				if rows == nil {
					rows = []map[string]any{}
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(rows)
			}
			if quiet {
				return format.Rows(c.OutOrStdout(), "{{.ID}}", composeImagesTable, table)
			}
			return format.Rows(c.OutOrStdout(), "", composeImagesTable, table)
		}}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display ids")
	c.Flags().StringVar(&f, "format", "table", "format the output: table")
	return c
}

// composeImageRow is one line of `images`.
type composeImageRow struct{ Container, Repository, Tag, ID, Size string }

// composeImagesTable is the table of `images`.
var composeImagesTable = format.Table{
	Default: "table {{.Container}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}",
	Headers: map[string]string{"ID": "IMAGE ID"},
	Compact: true,
}

func newComposeWaitCmd(g *globals) *cobra.Command {
	var downProject bool
	c := &cobra.Command{Use: "wait SERVICE [SERVICE...]", Short: "Block until the first service container stops",
		GroupID: "compose", Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			ct, code, err := compose.WaitExit(c.Context(), env.b.Containers, env.name, services, "", 0)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), code)
			if downProject {
				if _, err := compose.Down(c.Context(), env.b, env.name, env.p, compose.DownOptions{}, compose.ExecOptions{}, g.Layout().Projects()); err != nil {
					return fmt.Errorf("container %q exited; down: %w", ct.Name, err)
				}
			}
			return nil
		}}
	c.Flags().BoolVar(&downProject, "down-project", false, "drop the project when the first container stops")
	return c
}

func newComposeCpCmd(g *globals) *cobra.Command {
	var index int
	c := &cobra.Command{Use: "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files between a service container and the host", GroupID: "compose", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			ctx := c.Context()
			srcSvc, srcPath, srcIn := splitCpArg(args[0])
			dstSvc, dstPath, dstIn := splitCpArg(args[1])
			switch {
			case srcIn && dstIn:
				return withStatus(125, "copying between containers is not supported: copy to the host first")
			case srcIn:
				ct, err := serviceContainer(ctx, env, srcSvc, index)
				if err != nil {
					return err
				}
				if dstPath == "-" {
					return env.e.CopyOutTar(ctx, ct.ID, srcPath, c.OutOrStdout())
				}
				return env.e.CopyOut(ctx, ct.ID, srcPath, dstPath)
			case dstIn:
				ct, err := serviceContainer(ctx, env, dstSvc, index)
				if err != nil {
					return err
				}
				if srcPath == "-" {
					return env.e.CopyInTar(ctx, ct.ID, dstPath, c.InOrStdin())
				}
				return env.e.CopyIn(ctx, srcPath, ct.ID, dstPath)
			}
			return withStatus(125, "must specify at least one service source (SERVICE:PATH)")
		}}
	c.Flags().IntVar(&index, "index", 1, "index of the container if the service has multiple replicas")
	c.Flags().BoolP("archive", "a", false, "archive mode (copy all uid/gid information)")
	c.Flags().BoolP("follow-link", "L", false, "always follow symbol link in SRC_PATH")
	return c
}

// newComposePullCmd checks the services' images: berth has no registry
// client yet, so present images are skipped and a missing one is an error
// saying how to get it.
func newComposePullCmd(g *globals) *cobra.Command {
	var quiet, ignoreFailures bool
	c := &cobra.Command{Use: "pull [OPTIONS] [SERVICE...]", Short: "Pull service images (checks they are present)", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			if env.p == nil {
				return fmt.Errorf("pull needs the project's compose file: %w", errdefs.ErrNotFound)
			}
			want := map[string]bool{}
			for _, s := range services {
				want[s] = true
			}
			var missing []string
			for _, s := range env.p.Services {
				if s.Image == "" || (len(want) > 0 && !want[s.Name]) {
					continue
				}
				if _, err := env.b.Images.Exists(c.Context(), s.Image); err != nil {
					missing = append(missing, fmt.Sprintf("%s (%s)", s.Name, s.Image))
					continue
				}
				if !quiet {
					fmt.Fprintf(c.ErrOrStderr(), " %s Skipped - Image is already present locally\n", s.Name)
				}
			}
			if len(missing) > 0 && !ignoreFailures {
				return fmt.Errorf("images missing for %s: berth cannot pull from registries yet: import, load or build them: %w",
					strings.Join(missing, ", "), errdefs.ErrNotImplemented)
			}
			return nil
		}}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "pull without printing progress information")
	c.Flags().BoolVar(&ignoreFailures, "ignore-pull-failures", false, "pull what it can and ignore images with pull failures")
	return c
}

func newComposeEventsCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "events [OPTIONS] [SERVICE...]", Short: "Receive real time events from the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			err = compose.WatchEvents(c.Context(), env.b.Containers, env.name, services, 0, func(e compose.ContainerEvent) {
				if asJSON {
					json.NewEncoder(out).Encode(map[string]any{"time": e.Time.UTC().Format(time.RFC3339Nano), "type": "container",
						"action": e.Action, "id": e.ID, "service": e.Service, "attributes": map[string]string{"name": e.Name}})
					return
				}
				fmt.Fprintf(out, "%s container %s %s (name=%s, service=%s)\n", e.Time.Format("2006-01-02 15:04:05.000000"), e.Action, e.ID, e.Name, e.Service)
			})
			if errors.Is(err, context.Canceled) {
				return nil // Ctrl-C ends the stream
			}
			return err
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "output events as a stream of json objects")
	return c
}
