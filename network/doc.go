// Package network gives berth containers their networking: bridge networks
// kept in a small on-disk store, named network namespaces, veth pairs with
// addresses from a persistent per-network IPAM, NAT and forwarding rules in
// berth's own iptables chains, and published ports through a lean userland
// proxy.
//
// Everything is done in-process through netlink (no CNI plugin binaries).
// State shared by several berth processes (the network store, IP
// allocations) is protected by flock; kernel objects that are global to the
// host (subnets, iptables chains) are guarded by a host-wide lock so that
// berth processes using different roots never collide.
package network
