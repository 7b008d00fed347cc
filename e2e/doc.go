// Package e2e drives the built berth binary as a user would, as root: every
// test gets its own data root with the busybox image imported, and ends
// with a check that nothing leaked (mounts, cgroups, monitor processes,
// network namespaces). Without root the tests skip.
package e2e
