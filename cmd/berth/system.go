package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
)

// Set at build time: go build -ldflags "-X main.version=1.2.3 -X main.gitCommit=abc".
var (
	version   = "dev"
	gitCommit = ""
)

func addSystemCommands(root *cobra.Command, g *globals) {
	sys := &cobra.Command{
		Use:     "system",
		Short:   "Manage berth",
		GroupID: "objects",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	sys.AddCommand(newSystemInfoCmd(g), newSystemDfCmd(g), newSystemPruneCmd(g))
	root.AddCommand(sys)

	info := newSystemInfoCmd(g) // Docker's `docker info` alias
	info.Hidden = true
	root.AddCommand(info, newVersionCmd(), newCompletionCmd(root))
}

// versionInfo is what `berth version` prints.
type versionInfo struct {
	Client clientVersion
}

type clientVersion struct {
	Version   string
	GoVersion string
	GitCommit string
	Os        string
	Arch      string
}

func currentVersion() versionInfo {
	commit := gitCommit
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return versionInfo{Client: clientVersion{Version: version, GoVersion: goruntime.Version(),
		GitCommit: commit, Os: goruntime.GOOS, Arch: goruntime.GOARCH}}
}

func newVersionCmd() *cobra.Command {
	var f string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the berth version information",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v := currentVersion()
			if f != "" {
				return format.Value(c.OutOrStdout(), f, v)
			}
			cv := v.Client
			fmt.Fprintf(c.OutOrStdout(), "Client:\n Version:    %s\n Go version: %s\n Git commit: %s\n OS/Arch:    %s/%s\n",
				cv.Version, cv.GoVersion, cv.GitCommit, cv.Os, cv.Arch)
			return nil
		},
	}
	cmd.Flags().StringVar(&f, "format", "", "format the output: json or a Go template")
	return cmd
}

func newCompletionCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Generate the shell completion script",
		Long: `Generate the completion script for a shell. For example:
  bash: source <(berth completion bash)
  zsh:  berth completion zsh > "${fpath[1]}/_berth"
  fish: berth completion fish > ~/.config/fish/completions/berth.fish`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(c *cobra.Command, args []string) error {
			w := c.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return fmt.Errorf("shell %q: %w", args[0], errdefs.ErrInvalidArgument)
		},
	}
}

// sysInfo is what `berth system info` reports.
type sysInfo struct {
	Name              string // host name
	ServerVersion     string
	OperatingSystem   string
	OSType            string
	Architecture      string
	KernelVersion     string
	NCPU              int
	MemTotal          int64
	DataRoot          string
	RunRoot           string
	CgroupVersion     string // "1" or "2"
	CgroupMode        string // legacy (v1 only), hybrid (v1 controllers + cgroup2 at unified/), unified (v2)
	CgroupDriver      string
	StorageDriver     string
	Runtime           string
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	Volumes           int
	Networks          int
}

// systemInfoCounts fills the object counts of system info from the
// engine's stores. Tests may replace it.
var systemInfoCounts = func(ctx context.Context, g *globals, info *sysInfo) error {
	e, err := newEngine(g)
	if err != nil {
		return err
	}
	cs, err := e.Runtime.List(ctx)
	if err != nil {
		return err
	}
	info.Containers = len(cs)
	for _, c := range cs {
		switch c.State.Status {
		case "running", "restarting":
			info.ContainersRunning++
		case "paused":
			info.ContainersPaused++
		default:
			info.ContainersStopped++
		}
	}
	imgs, err := e.Images.List(ctx)
	if err != nil {
		return err
	}
	vols, err := e.Volumes.List(ctx)
	if err != nil {
		return err
	}
	nets, err := e.Networks.List(ctx)
	if err != nil {
		return err
	}
	info.Images, info.Volumes, info.Networks = len(imgs), len(vols), len(nets)
	return nil
}

func newSystemInfoCmd(g *globals) *cobra.Command {
	var f string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			info := collectSysInfo(g)
			if err := systemInfoCounts(c.Context(), g, &info); err != nil {
				return err
			}
			if f != "" {
				return format.Value(c.OutOrStdout(), f, info)
			}
			printSysInfo(c.OutOrStdout(), info)
			return nil
		},
	}
	cmd.Flags().StringVar(&f, "format", "", "format the output: json or a Go template")
	return cmd
}

func collectSysInfo(g *globals) sysInfo {
	l := g.Layout()
	info := sysInfo{ServerVersion: version, OSType: goruntime.GOOS, Architecture: goruntime.GOARCH,
		NCPU: goruntime.NumCPU(), DataRoot: l.Data, RunRoot: l.Run, CgroupDriver: "cgroupfs",
		StorageDriver: "overlay", Runtime: "libcontainer" + depVersion("github.com/opencontainers/runc")}
	info.Name, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		info.KernelVersion = unix.ByteSliceToString(u.Release[:])
		info.Architecture = unix.ByteSliceToString(u.Machine[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	info.OperatingSystem = osRelease("/etc/os-release")
	info.CgroupVersion, info.CgroupMode = cgroupMode()
	return info
}

// cgroupMode tells apart pure v2, hybrid (v1 controllers with cgroup2 at
// /sys/fs/cgroup/unified) and legacy v1 hosts.
func cgroupMode() (version, mode string) {
	switch {
	case cgroups.IsCgroup2UnifiedMode():
		return "2", "unified"
	case cgroups.IsCgroup2HybridMode():
		return "1", "hybrid"
	default:
		return "1", "legacy"
	}
}

// osRelease returns PRETTY_NAME from an os-release file.
func osRelease(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "unknown"
}

// depVersion is " <version>" of a module linked into berth, or "".
func depVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return " " + d.Version
			}
		}
	}
	return ""
}

func printSysInfo(w io.Writer, i sysInfo) {
	fmt.Fprintf(w, `Containers: %d
 Running: %d
 Paused: %d
 Stopped: %d
Images: %d
Volumes: %d
Networks: %d
Server Version: %s
Storage Driver: %s
Cgroup Driver: %s
Cgroup Version: %s (%s)
Runtime: %s
Kernel Version: %s
Operating System: %s
OSType: %s
Architecture: %s
CPUs: %d
Total Memory: %.4gGiB
Name: %s
Data Root: %s
Run Root: %s
`, i.Containers, i.ContainersRunning, i.ContainersPaused, i.ContainersStopped, i.Images, i.Volumes, i.Networks, i.ServerVersion, i.StorageDriver, i.CgroupDriver,
		i.CgroupVersion, i.CgroupMode, i.Runtime, i.KernelVersion, i.OperatingSystem, i.OSType,
		i.Architecture, i.NCPU, float64(i.MemTotal)/(1<<30), i.Name, i.DataRoot, i.RunRoot)
}
