// Package volume keeps berth's named volumes: one directory per volume under
// the store's root, holding the data (<name>/_data) and the metadata
// (<name>/volume.json, written atomically). Changes that several berth
// processes may make at once (create, remove, prune, copy-up, mount) are
// serialised with flock, so two processes creating one name end up with one
// volume.
//
// Only the "local" driver exists. A volume created with mount options
// (type, device, o) is mounted on its _data directory by Mount, at
// container start, and unmounted by Unmount; one without them is a plain
// directory.
package volume
