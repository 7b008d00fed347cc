package build

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
)

// ignorer applies a build context's .dockerignore.
type ignorer struct {
	pm *patternmatcher.PatternMatcher
}

// loadIgnore reads dir/.dockerignore (none: nothing is ignored).
func loadIgnore(dir string) (*ignorer, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return &ignorer{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	return newIgnorer(patterns)
}

func newIgnorer(patterns []string) (*ignorer, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	return &ignorer{pm: pm}, nil
}

// ignored reports whether rel (slash-separated, relative to the context)
// is left out of the context; descend says whether a left-out directory
// may still hold files an exception ("!pattern") brings back.
func (ig *ignorer) ignored(rel string) (skip, descend bool) {
	if ig == nil || ig.pm == nil {
		return false, false
	}
	m, err := ig.pm.MatchesOrParentMatches(rel)
	if err != nil || !m {
		return false, false
	}
	return true, ig.pm.Exclusions()
}

// copySpec is a COPY or an ADD.
type copySpec struct {
	instructions.SourcesAndDest
	from         string
	chown, chmod string
	add          bool
	unsupported  bool
}

// copyStep writes the sources into a fresh layer directory (through
// image.Unpack, which refuses any path leaving it) and commits it.
func (r *run) copyStep(ctx context.Context, st *stageState, c copySpec) error {
	if c.unsupported {
		return fmt.Errorf("this flag is not supported by berth build: %w", errdefs.ErrNotImplemented)
	}
	if len(c.SourceContents) > 0 {
		return fmt.Errorf("heredocs are not supported by berth build: %w", errdefs.ErrNotImplemented)
	}
	w, err := newEntryWriter(c.chown, c.chmod)
	if err != nil {
		return err
	}
	root, ig := r.o.ContextDir, r.ignore
	if c.from != "" {
		id, err := r.fromImage(ctx, c.from)
		if err != nil {
			return err
		}
		dir, release, err := r.b.Exec.Mount(ctx, id)
		if err != nil {
			return err
		}
		defer release()
		root, ig = dir, nil
	}
	dest := c.DestPath
	if !path.IsAbs(dest) {
		dest = path.Join("/", st.cfg.WorkingDir, dest)
		if strings.HasSuffix(c.DestPath, "/") || c.DestPath == "." {
			dest += "/"
		}
	}
	srcs, err := expandSources(root, c.SourcePaths, c.add)
	if err != nil {
		return err
	}
	intoDir := strings.HasSuffix(dest, "/") || len(srcs) > 1
	if !intoDir {
		if intoDir, err = r.isDir(ctx, st, dest); err != nil {
			return err
		}
	}
	layer, err := os.MkdirTemp(r.b.TempDir, "berth-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(layer)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(w.sources(ctx, pw, srcs, strings.TrimPrefix(path.Clean(dest), "/"), intoDir, c.add, ig))
	}()
	err = image.Unpack(ctx, pr, layer)
	pr.CloseWithError(err)
	if err != nil {
		return err
	}
	return r.commit(ctx, st, layer)
}

// source is one resolved COPY source.
type source struct {
	full string // path on the host, inside root
	rel  string // slash path relative to root
}

// expandSources resolves the sources (wildcards allowed) inside root:
// ".." cannot climb out of it and symlinks resolve as if root were "/".
func expandSources(root string, patterns []string, add bool) ([]source, error) {
	var out []source
	for _, p := range patterns {
		if add && (strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "git@")) {
			return nil, fmt.Errorf("ADD %s: remote sources are not supported by berth build (no registry or network access here): download the file into the build context and ADD or COPY it: %w", p, errdefs.ErrNotImplemented)
		}
		clean := path.Clean("/" + p)
		rels := []string{clean}
		if strings.ContainsAny(clean, "*?[") {
			matches, err := filepath.Glob(filepath.Join(root, clean))
			if err != nil {
				return nil, fmt.Errorf("source %q: %w: %w", p, err, errdefs.ErrInvalidArgument)
			}
			rels = rels[:0]
			for _, m := range matches {
				rel, err := filepath.Rel(root, m)
				if err == nil && !strings.HasPrefix(rel, "..") {
					rels = append(rels, "/"+filepath.ToSlash(rel))
				}
			}
			if len(rels) == 0 {
				return nil, fmt.Errorf("source %q: no file matches: %w", p, errdefs.ErrNotFound)
			}
		}
		for _, rel := range rels {
			full, err := securejoin.SecureJoin(root, rel)
			if err != nil {
				return nil, err
			}
			if _, err := os.Lstat(full); err != nil {
				return nil, fmt.Errorf("source %q not found in the build context: %w", p, errdefs.ErrNotFound)
			}
			r, _ := filepath.Rel(root, full)
			out = append(out, source{full: full, rel: filepath.ToSlash(r)})
		}
	}
	return out, nil
}

// entryWriter writes COPY's files as tar entries.
type entryWriter struct {
	tw       *tar.Writer
	uid, gid int
	mode     fs.FileMode // 0: the file's own
}

func newEntryWriter(chown, chmod string) (*entryWriter, error) {
	w := &entryWriter{}
	if chown != "" {
		u, g, hasGroup := strings.Cut(chown, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := uid, error(nil)
		if hasGroup {
			gid, err2 = strconv.Atoi(g)
		}
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return nil, fmt.Errorf("--chown=%s: berth build takes numeric uid[:gid] only: %w", chown, errdefs.ErrNotImplemented)
		}
		w.uid, w.gid = uid, gid
	}
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s: berth build takes an octal mode only: %w", chmod, errdefs.ErrInvalidArgument)
		}
		w.mode = fs.FileMode(m)
	}
	return w, nil
}

// sources writes every source under dest (a directory when intoDir).
// ADD extracts local archives there instead.
func (w *entryWriter) sources(ctx context.Context, out io.Writer, srcs []source, dest string, intoDir, add bool, ig *ignorer) error {
	w.tw = tar.NewWriter(out)
	for _, s := range srcs {
		fi, err := os.Lstat(s.full)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			err = w.tree(ctx, s, dest, ig)
		case add && fi.Mode().IsRegular():
			var ok bool
			if ok, err = w.archive(s.full, dest); err == nil && !ok {
				err = w.file(s.full, target(dest, path.Base(s.rel), intoDir), fi)
			}
		default:
			err = w.file(s.full, target(dest, path.Base(s.rel), intoDir), fi)
		}
		if err != nil {
			return err
		}
	}
	return w.tw.Close()
}

func target(dest, base string, intoDir bool) string {
	if intoDir {
		return path.Join(dest, base)
	}
	return dest
}

// tree writes the content of directory s (not s itself) under dest.
func (w *entryWriter) tree(ctx context.Context, s source, dest string, ig *ignorer) error {
	return filepath.WalkDir(s.full, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.full, p)
		rel = filepath.ToSlash(rel)
		if skip, descend := ig.ignored(path.Join(s.rel, rel)); skip && p != s.full {
			if d.IsDir() && !descend {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return w.file(p, path.Join(dest, rel), fi)
	})
}

// file writes one entry named name (never following a symlink).
func (w *entryWriter) file(p, name string, fi fs.FileInfo) error {
	if name == "" || name == "." {
		return nil // the destination "/" itself
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil // sockets and the like are skipped, as Docker does
	}
	hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = name, w.uid, w.gid, "", ""
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if w.mode != 0 && fi.Mode()&fs.ModeSymlink == 0 {
		hdr.Mode = int64(w.mode)
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return image.CopyFileContent(w.tw, p)
}

// archive extracts the (possibly compressed) tar at p under dest; false
// when p is not an archive (ADD copies it then).
func (w *entryWriter) archive(p, dest string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	zr, err := image.Decompress(f)
	if err != nil {
		return false, nil
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return false, nil
	}
	for ; err == nil; hdr, err = tr.Next() {
		hdr.Name = path.Join(dest, hdr.Name)
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = path.Join(dest, path.Clean("/" + hdr.Linkname)[1:])
		}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return true, err
		}
		if _, err := io.Copy(w.tw, tr); err != nil {
			return true, err
		}
	}
	if !errors.Is(err, io.EOF) {
		return true, fmt.Errorf("ADD %s: %w: %w", filepath.Base(p), err, errdefs.ErrInvalidArgument)
	}
	return true, nil
}

// fromImage is the image COPY --from names: a stage built before, else an
// image in the store.
func (r *run) fromImage(ctx context.Context, from string) (string, error) {
	for i, s := range r.stages {
		if s.Name != "" && strings.EqualFold(s.Name, from) || strconv.Itoa(i) == from {
			if r.results[i] == "" {
				return "", fmt.Errorf("COPY --from=%s: the stage is empty or not built before this one: %w", from, errdefs.ErrInvalidArgument)
			}
			return r.results[i], nil
		}
	}
	img, err := r.b.Store.Get(ctx, from)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// isDir reports whether the stage's image has a directory at p.
func (r *run) isDir(ctx context.Context, st *stageState, p string) (bool, error) {
	if st.image == "" {
		return false, nil
	}
	dir, release, err := r.b.Exec.Mount(ctx, st.image)
	if err != nil {
		return false, err
	}
	defer release()
	full, err := securejoin.SecureJoin(dir, p)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(full)
	return err == nil && fi.IsDir(), nil
}

// prefixWriter starts every line written to w with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

// Flush writes a last line without its newline.
func (p *prefixWriter) Flush() {
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
