package network

// HostVethName exposes the host-side veth name to the black-box tests, so
// they can check that no veth is left behind.
var HostVethName = hostVeth
