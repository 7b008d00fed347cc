// Package engine owns one container's whole life across berth's leaf
// packages: it turns a ContainerConfig (the flag-level description of
// `docker run`, filled by `berth container` or by compose) into an image
// lookup, volumes, a network namespace, mounts and a runtime spec; it
// attaches networks, publishes ports and refreshes DNS when the container
// starts, and undoes all of it when the container stops or is removed.
//
// It also renders containers the way Docker does: the ps table and its
// filters and templates, and the inspect document.
package engine
