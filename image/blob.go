package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
)

// ctxReader fails reads once ctx is done, so a long copy can be interrupted.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Decompress returns r's content uncompressed, like decompress (ADD of a
// local archive uses it).
func Decompress(r io.Reader) (io.ReadCloser, error) { return decompress(r) }

// decompress returns r's content uncompressed, detecting gzip, zstd and
// bzip2 by their magic numbers; anything else is returned as is.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	}
	return io.NopCloser(br), nil
}

// tempFile creates a file in the store's tmp dir.
func (s *Store) tempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), pattern)
	if err != nil {
		return nil, fmt.Errorf("image store temp file: %w", err)
	}
	return f, nil
}

// commitBlob fsyncs and moves a finished temp file to its digest's path.
func (s *Store) commitBlob(f *os.File, h hash.Hash) (string, error) {
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), s.blobPath(digest)); err != nil {
		return "", fmt.Errorf("store blob %s: %w", digest, err)
	}
	return digest, nil
}

// writeBlob stores data as a blob and returns its digest.
func (s *Store) writeBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if _, err := os.Stat(s.blobPath(digest)); err == nil {
		return digest, nil
	}
	f, err := s.tempFile("blob-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", fmt.Errorf("store blob %s: %w", digest, err)
	}
	h := sha256.New()
	h.Write(data)
	return s.commitBlob(f, h)
}

// writeLayer stores a (possibly compressed) layer tar uncompressed, so its
// blob digest is its diff id. It reads the whole tar, checking every entry
// name (see checkName), and returns the diff id and the content size. An
// archive without entries is refused unless allowEmpty.
func (s *Store) writeLayer(ctx context.Context, r io.Reader, allowEmpty bool) (layerRecord, error) {
	var lr layerRecord
	dr, err := decompress(ctxReader{ctx, r})
	if err != nil {
		return lr, fmt.Errorf("layer: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	defer dr.Close()
	f, err := s.tempFile("layer-*")
	if err != nil {
		return lr, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	tee := io.TeeReader(dr, io.MultiWriter(f, h))
	var n int
	n, lr.Size, err = scanTar(tee)
	if err == nil && n == 0 && !allowEmpty {
		err = fmt.Errorf("not a tar archive, or an empty one: %w", errdefs.ErrInvalidArgument)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // trailing padding belongs to the blob
	}
	if err != nil {
		f.Close()
		return lr, fmt.Errorf("layer: %w", err)
	}
	lr.DiffID, err = s.commitBlob(f, h)
	return lr, err
}

// scanTar reads a tar to its end, checking entry names, and returns the
// number of entries and the total size of its regular files.
func scanTar(r io.Reader) (n int, size int64, err error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, size, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read tar: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		n++
		if _, err := checkName(hdr.Name); err != nil {
			return 0, 0, err
		}
		if hdr.Typeflag == tar.TypeLink {
			if _, err := checkName(hdr.Linkname); err != nil {
				return 0, 0, fmt.Errorf("hard link %q: %w", hdr.Name, err)
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			size += hdr.Size
		}
	}
}

// ChainIDs returns the chain ids of a stack of diff ids, bottom first:
// chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)).
func ChainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// ensureSnapshot unpacks the layer blob diffID into the snapshot of
// chainID unless it exists. The caller holds gc.lock (shared or exclusive).
// Concurrent callers may both unpack; the first rename wins.
func (s *Store) ensureSnapshot(ctx context.Context, chainID, diffID string) error {
	dst := s.snapshotPath(chainID)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	f, err := os.Open(s.blobPath(diffID))
	if err != nil {
		return fmt.Errorf("layer %s: blob missing: %w", diffID, errdefs.ErrNotFound)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "snapshots"), ".tmp-")
	if err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := Unpack(ctx, f, tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	syncFS(tmp) // the snapshot's files reach the disk before it gets its name
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dst); serr == nil {
			return nil // another process won the race
		}
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	return nil
}

// syncFS flushes the filesystem holding dir.
func syncFS(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = unix.Syncfs(int(d.Fd()))
		d.Close()
	}
}

// addImage writes config as a blob, unpacks missing snapshots for layers,
// records the image and points refs at it. The caller holds gc.lock shared.
func (s *Store) addImage(ctx context.Context, config []byte, layers []layerRecord, refs []string) (string, error) {
	for _, ref := range refs {
		if _, err := parseReference(ref); err != nil {
			return "", err
		}
	}
	var cf configFile
	if err := json.Unmarshal(config, &cf); err != nil {
		return "", fmt.Errorf("image config: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	if len(cf.RootFS.DiffIDs) != len(layers) {
		return "", fmt.Errorf("image config lists %d layers, archive has %d: %w", len(cf.RootFS.DiffIDs), len(layers), errdefs.ErrInvalidArgument)
	}
	for i, l := range layers {
		if cf.RootFS.DiffIDs[i] != l.DiffID {
			return "", fmt.Errorf("layer %d: diff id %s does not match the config's %s: %w", i, l.DiffID, cf.RootFS.DiffIDs[i], errdefs.ErrInvalidArgument)
		}
	}
	chains := ChainIDs(cf.RootFS.DiffIDs)
	for i, l := range layers {
		if err := s.ensureSnapshot(ctx, chains[i], l.DiffID); err != nil {
			return "", err
		}
	}
	id, err := s.writeBlob(config)
	if err != nil {
		return "", err
	}
	l, err := s.lockMeta(ctx)
	if err != nil {
		return "", err
	}
	defer l.Unlock()
	rec := record{ID: id, Layers: layers, Added: time.Now().UTC()}
	if old, err := s.readRecord(id); err == nil {
		rec.Added = old.Added
	}
	if err := atomicfile.WriteJSON(s.recordPath(id), rec, 0o600); err != nil {
		return "", fmt.Errorf("image %s: write record: %w", id, err)
	}
	if err := s.setTagsLocked(id, refs); err != nil {
		return "", err
	}
	return id, nil
}
