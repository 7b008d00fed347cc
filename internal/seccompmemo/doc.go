// Package seccompmemo memoizes the BPF programs libseccomp compiles for
// libcontainer's `runc init`.
//
// libcontainer compiles a container's seccomp profile in the container's
// init process, after its mounts and right before the exec, on every start
// and every exec. For Docker's default profile on x86-64 (x86-64 and i386
// rules) libseccomp 2.5 needs ~10 ms for it (~8 ms of it for the i386 half
// alone), the largest single cost of a container start after the kernel's
// own work, and libcontainer offers no way to hand it a compiled program.
//
// So this package sits at the one seam there is, libseccomp's C API: linked
// into a binary that serves libcontainer's init, it has the linker route
// the calls that build a filter (seccomp_init, seccomp_arch_add,
// seccomp_attr_set, seccomp_rule_add*, ...) through wrappers that log each
// call and its result per filter, then forward it unchanged; rules, whose
// database libseccomp builds slowly too (~3 ms more), are only logged while
// a memo directory is open, and added for real when something needs them.
// When the filter is exported (seccomp_export_bpf), the log's SHA-256,
// with libseccomp's version, the API level it detected and the native
// architecture, names a file in the memo directory: if it holds a program,
// that program is the export; if not, the deferred rules are added,
// libseccomp compiles as always and the program is stored for the next
// start (a rule libseccomp refuses fails the export instead of the rule's
// call, and nothing is stored). The program is what libseccomp produced for
// exactly the same calls, so a hit changes nothing but the time; a filter
// whose history the log cannot describe (seccomp_merge) is never memoized.
//
// The memo directory is given to Open by the init process (runtime finds
// it next to the container's run directory); it must be root's and
// writable by root only, since its files become seccomp filters. It keeps
// the 64 newest programs. Without Open, or in a build without cgo and the
// seccomp tag, exports compile.
package seccompmemo
