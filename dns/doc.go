// Package dns is berth's built-in resolver: one server process per berth
// root (`berth __dns`) that listens on the gateway address of every berth
// network, UDP and TCP port 53, and answers containers by name.
//
// # Records
//
// The engine owns the records. Whenever endpoints change it writes an
// immutable Snapshot with WriteSnapshot (or read-modify-writes it with
// Update) into the DNS directory (layout.DNS(), file records.json), then
// calls Ensure. The server notices the new file through fsnotify (plus a
// periodic stat as a fallback), builds a new lookup table and swaps it in
// with one atomic pointer store: record updates never close or re-bind a
// listening socket, so no query is lost on a reload. Networks that appear
// get new listeners; listeners of networks that disappear are closed; the
// others are left alone. Ensure returns only once the running server has
// loaded the newest snapshot, so a name resolves as soon as the engine's
// Ensure call returns.
//
// # Answers
//
// A query is answered from berth's records only if the name belongs to the
// network of the listener it arrived on (the gateway address identifies the
// network): names are matched case-insensitively, with or without a
// trailing dot and with or without one of the snapshot's search domains as
// a suffix. A name held by several containers gets all their A records,
// in a different order on each answer. AAAA (and any other type) for a
// known name gets NODATA, not NXDOMAIN. PTR queries for the addresses of
// the network's containers are answered; PTR queries for other addresses
// inside a berth subnet get NXDOMAIN. Berth's answers carry TTL 0: names
// follow containers that come and go (a restarted container may get a new
// address, a stopped one must stop resolving at once), and the server is
// one hop away on the bridge, so a cache inside the container would only
// serve stale addresses. Docker uses 600 s and gets that staleness.
//
// Everything else is forwarded to the upstream resolvers: over UDP (TCP
// when the client used TCP, and a TCP retry when the UDP answer is
// truncated), one second per try, about two and a half seconds in all; an
// unreachable upstream gives SERVFAIL, never a hang.
//
// # Upstreams
//
// The upstream list is, in order of precedence: Snapshot.Upstreams when
// the engine set it; the environment variable BERTH_DNS_UPSTREAM of the
// server process (comma-separated "ip" or "ip:port"; Ensure starts the
// server with the caller's environment, and UpstreamsFromEnv lets the
// engine copy the same setting into every snapshot so that it survives a
// server restart); the nameservers of the host's /etc/resolv.conf, read
// when a snapshot is loaded. The search domains likewise come from
// Snapshot.Search or else the host's resolv.conf. Upstreams are queried
// from the host's network namespace, so a loopback resolver such as
// systemd-resolved's 127.0.0.53 works.
//
// # Serving
//
// Each gateway gets one UDP socket per CPU, bound with SO_REUSEPORT (the
// kernel spreads clients over them), IP_FREEBIND (the bridge may get its
// address after the snapshot names it) and a 4 MiB receive buffer, plus a
// TCP listener (miekg/dns). A UDP socket is served by one goroutine that
// blocks in recvmmsg, answers the batch and sends the answers with one
// sendmmsg; the common query (A or AAAA for a berth name, optionally with
// EDNS0) is answered straight from the packet bytes without allocating,
// anything else goes through the handler chain in its own goroutine.
// Measured here this uses less than half the CPU per query of a plain
// miekg/dns server (the way Docker's embedded resolver is built); see
// bench/dns.
//
// # Process
//
// Serve holds the flock dns.lock for its whole life and writes dns.pid
// once its sockets are bound (Ensure waits for that), and loaded (the
// serial of the last loaded snapshot) after each reload. A network is
// served while its gateway address is on its bridge (NetworkView.Bridge;
// without it, the interface that held the address when the server first
// saw it) and no other process already serves
// that address: the server of another berth root whose network got the
// same gateway would otherwise share the queries through SO_REUSEPORT, and
// a server whose bridges were deleted behind its back lets go of them. It
// exits by itself when it has had nothing to serve for a few seconds. Ensure
// starts the server, detached, when no process holds dns.lock, which also
// covers a server that was SIGKILLed; Stop terminates it, and StopIfIdle
// does so only when the snapshot lists no network.
//
// # Use from the engine
//
//	dir := layout.DNS()
//	up, _ := dns.UpstreamsFromEnv()          // optional: keep BERTH_DNS_UPSTREAM across restarts
//	dns.Update(ctx, dir, func(s *dns.Snapshot) error { ...; s.Upstreams = up; return nil })
//	dns.Ensure(ctx, dir, []string{self, "--root", root, "__dns"})  // returns once the records are served
//
// The snapshot must list every network whose containers should resolve
// names (the server listens only on those gateways) and, for each
// endpoint, a Record with the container name, its aliases and, for
// compose, the service name.
package dns
