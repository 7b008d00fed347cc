// Package image is berth's image store: a content-addressed store of blobs
// (layer tars and image configs, by sha256), image records, names and tags,
// and layer snapshots unpacked once into directories keyed by chain id and
// shared by every image that has them.
//
// On disk, under Options.Root:
//
//	blobs/sha256/<hex>      layer tars (stored uncompressed, so digest == diff id) and configs
//	images/<hex>.json       one record per image (id = digest of its config blob)
//	snapshots/<chainhex>/   a layer's files with overlay whiteouts, ready for lowerdir
//	repositories.json       name:tag -> image id
//	lock, gc.lock           flock(2) files: metadata writes, and garbage collection
//
// Images enter the store by Import (a rootfs tar), Load (a `docker save`
// archive or an OCI image layout tar) and Commit (an overlay upper dir);
// later, registry pull and build add layers the same way. Tar extraction is
// strict: an archive with absolute or ".." paths, entries below a symlink, or
// hard links out of the layer is rejected and nothing is written outside the
// snapshot being made. A failed unpack leaves no snapshot behind.
//
// Several berth processes may use one store at once: records and tags are
// written under an exclusive lock with write-temp-then-rename, and anything
// that creates blobs or snapshots holds gc.lock shared so that Remove (which
// holds it exclusively) never deletes content an image is being built from.
package image
