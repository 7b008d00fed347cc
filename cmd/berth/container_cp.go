package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/runtime"
)

func newContainerCpCmd(g *globals) *cobra.Command {
	c := engineCmd(g, "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		"Copy files/folders between a container and the local filesystem", cobra.ExactArgs(2),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			srcCtr, srcPath, srcIn := splitCpArg(args[0])
			dstCtr, dstPath, dstIn := splitCpArg(args[1])
			switch {
			case srcIn && dstIn:
				return withStatus(125, "copying between containers is not supported: copy to the host first")
			case srcIn:
				if dstPath == "-" {
					return e.CopyOutTar(ctx, srcCtr, srcPath, cmd.OutOrStdout())
				}
				return e.CopyOut(ctx, srcCtr, srcPath, dstPath)
			case dstIn:
				if srcPath == "-" {
					return e.CopyInTar(ctx, dstCtr, dstPath, cmd.InOrStdin())
				}
				return e.CopyIn(ctx, srcPath, dstCtr, dstPath)
			}
			return withStatus(125, "must specify at least one container source (CONTAINER:PATH)")
		})
	c.Flags().BoolP("archive", "a", false, "archive mode (copy all uid/gid information; berth always does)")
	return c
}

// splitCpArg splits "ctr:path"; a path with a slash before the colon, or
// starting with . or /, is local.
func splitCpArg(s string) (ctr, path string, inContainer bool) {
	if filepath.IsAbs(s) || strings.HasPrefix(s, ".") {
		return "", s, false
	}
	c, p, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(c, "/") || c == "" {
		return "", s, false
	}
	return c, p, true
}

func newContainerExportCmd(g *globals) *cobra.Command {
	var output string
	c := engineCmd(g, "export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", cobra.ExactArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			var w io.Writer = cmd.OutOrStdout()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			} else if isTerminal(os.Stdout) {
				return withStatus(125, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			dir, release, err := e.Runtime.MountRootfs(ctx, args[0])
			if err != nil {
				return err
			}
			defer release()
			return image.ExportDir(ctx, w, dir)
		})
	c.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return c
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newContainerCommitCmd(g *globals) *cobra.Command {
	var author, message string
	var changes []string
	var pause bool
	c := engineCmd(g, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", cobra.RangeArgs(1, 2),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			img, err := e.Commit(ctx, args[0], image.CommitOptions{Ref: ref, Author: author, Message: message, Changes: changes}, pause)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		})
	c.Flags().StringVarP(&author, "author", "a", "", "author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")")
	c.Flags().StringVarP(&message, "message", "m", "", "commit message")
	stringArrayVarP(c.Flags(), &changes, "change", "c", "apply Dockerfile instruction to the created image")
	c.Flags().BoolVarP(&pause, "pause", "p", true, "pause container during commit")
	return c
}

// writeTop prints a process list as `docker top` does.
func writeTop(w io.Writer, list *runtime.ProcessList) error {
	tw := tabwriter.NewWriter(w, 20, 1, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(list.Titles, "\t"))
	for _, p := range list.Processes {
		fmt.Fprintln(tw, strings.Join(p, "\t"))
	}
	return tw.Flush()
}

// runStats prints CPU, memory and pids per container; without --no-stream
// it redraws every second until interrupted.
func runStats(ctx context.Context, cmd *cobra.Command, e *engine.Engine, refs []string, all, noStream bool, tmpl string) error {
	for {
		ids := refs
		if len(ids) == 0 {
			list, err := e.List(ctx)
			if err != nil {
				return err
			}
			for _, d := range list {
				if all || d.State.Running {
					ids = append(ids, d.ID)
				}
			}
		}
		rows, err := e.StatsSample(ctx, ids, 500*time.Millisecond)
		if err != nil {
			return err
		}
		if !noStream {
			fmt.Fprint(cmd.OutOrStdout(), "\033[2J\033[H")
		}
		if err := writeStats(cmd.OutOrStdout(), rows, tmpl); err != nil {
			return err
		}
		if noStream {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func writeStats(w io.Writer, rows []engine.StatsRow, tmpl string) error {
	if tmpl != "" && !strings.HasPrefix(tmpl, "table") {
		t, err := format.Parse(tmpl)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := t.Execute(w, r); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tPIDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s / %s\t%s\t%d\n", r.ID, r.Name, r.CPUPerc, units.BytesSize(float64(r.MemUsage)),
			units.BytesSize(float64(r.MemLimit)), r.MemPerc, r.PIDs)
	}
	return tw.Flush()
}
