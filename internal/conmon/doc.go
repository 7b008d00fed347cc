// Package conmon is the steady-state half of a container's monitor: the
// json-file log writer, the stdio it holds (stdin pipe or pty master), the
// attach server, and the Handover that carries all of them, by descriptor,
// across the monitor's exec between berth-monitor (libcontainer, start,
// exit handling) and berth-monitor-idle (this package and little else).
// It must stay light: no libcontainer, cgroups, netlink or engine below it,
// and no package with heavy init (net/http, text/template).
package conmon
