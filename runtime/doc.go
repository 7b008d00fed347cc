// Package runtime runs berth's containers on opencontainers/runc's
// libcontainer: it keeps each container's spec and state on disk, spawns a
// small monitor process per container that is the parent of the container's
// init (logs, exit code, restart policy, healthcheck, attach socket), and
// implements the single-container operations (create, start, stop, kill,
// remove, wait, exec, attach, logs, top, stats, pause). While the container
// runs, the monitor process runs the small berth-monitor-idle binary in its
// place and execs back when the container exits (handover.go).
//
// Layout: <Root>/<id>/ holds config.json (Spec), state.json (State), the
// json-file log <id>-json.log, and the overlay upper/ and work/ dirs;
// <RunRoot>/<id>/ holds the rootfs mount point, attach.sock and the lock.
//
// Networking: a Spec with NetNSPath joins that namespace; with no NetNSPath
// and HostNetwork false libcontainer creates a fresh network namespace that
// holds only lo.
//
// The package knows nothing of images, volumes or projects: the engine
// resolves those into a Spec.
package runtime
