// Package deptest holds the test that keeps berth's dependency direction:
// cmd -> compose -> engine -> {runtime, network, dns, volume, image} -> internal.
package deptest
