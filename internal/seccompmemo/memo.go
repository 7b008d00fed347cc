//go:build cgo && seccomp

package seccompmemo

/*
#cgo LDFLAGS: -Wl,--wrap=seccomp_init -Wl,--wrap=seccomp_reset -Wl,--wrap=seccomp_release -Wl,--wrap=seccomp_merge
#cgo LDFLAGS: -Wl,--wrap=seccomp_arch_add -Wl,--wrap=seccomp_arch_remove -Wl,--wrap=seccomp_attr_set
#cgo LDFLAGS: -Wl,--wrap=seccomp_syscall_priority -Wl,--wrap=seccomp_rule_add_array
#cgo LDFLAGS: -Wl,--wrap=seccomp_rule_add_exact_array -Wl,--wrap=seccomp_export_bpf
#cgo LDFLAGS: -Wl,--wrap=seccomp_rule_add -Wl,--wrap=seccomp_rule_add_exact -Wl,--wrap=seccomp_load
#cgo LDFLAGS: -Wl,--wrap=seccomp_export_pfc
#include <seccomp.h>
#include <stddef.h>

extern int berth_memo_on;
int berth_real_export(scmp_filter_ctx ctx, int fd);
int berth_flush(scmp_filter_ctx ctx);
static void berth_set_on(int on) { berth_memo_on = on; }

static unsigned int berth_api(void) { return seccomp_api_get(); }
static unsigned int berth_native(void) { return seccomp_arch_native(); }
static void berth_version(unsigned int v[3]) {
	const struct scmp_version *sv = seccomp_version();
	v[0] = sv->major; v[1] = sv->minor; v[2] = sv->micro;
}
*/
import "C"

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirfd is the memo directory (an O_PATH descriptor), or -1: no memo.
var dirfd atomic.Int32

func init() { dirfd.Store(-1) }

// Open makes dir the memo directory of this process. dir must be a
// directory owned by root that no one else may write: its files become
// seccomp filters.
func Open(dir string) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return err
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		unix.Close(fd)
		return fmt.Errorf("seccomp memo %s: owned by uid %d with mode %o: want root's, writable by root only", dir, st.Uid, st.Mode&0o7777)
	}
	if old := dirfd.Swap(int32(fd)); old >= 0 {
		unix.Close(int(old))
	}
	C.berth_set_on(1)
	return nil
}

// Close forgets the memo directory.
func Close() {
	C.berth_set_on(0)
	if old := dirfd.Swap(-1); old >= 0 {
		unix.Close(int(old))
	}
}

// fileMagic starts a memo file: magic, key (32 bytes), program length
// (4 bytes, little-endian), program.
var fileMagic = []byte("BSECMEM1")

// keyOf is the memo key of a filter's call log: it covers everything
// libseccomp's output depends on besides the log itself (its version, the
// API level it detected on this kernel, the native architecture).
func keyOf(log []byte) [32]byte {
	var v [3]C.uint
	C.berth_version(&v[0])
	h := sha256.New()
	h.Write([]byte("berth seccomp memo 1\x00"))
	var hdr [20]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(v[0]))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(v[1]))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(v[2]))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(C.berth_api()))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(C.berth_native()))
	h.Write(hdr[:])
	h.Write(log)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// maxProgram bounds a memoized program: BPF programs hold at most 4096
// instructions of 8 bytes.
const maxProgram = 4096 * 8

func lookup(dir int, key [32]byte) ([]byte, bool) {
	fd, err := unix.Openat(dir, hex.EncodeToString(key[:]), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	f := os.NewFile(uintptr(fd), "seccomp memo")
	defer f.Close()
	buf := make([]byte, len(fileMagic)+32+4+maxProgram+1)
	n, _ := io.ReadFull(f, buf) // a shorter file ends the read early
	buf = buf[:n]
	if len(buf) < len(fileMagic)+36 || !bytes.Equal(buf[:len(fileMagic)], fileMagic) || !bytes.Equal(buf[len(fileMagic):len(fileMagic)+32], key[:]) {
		return nil, false
	}
	plen := int(binary.LittleEndian.Uint32(buf[len(fileMagic)+32:]))
	prog := buf[len(fileMagic)+36:]
	if plen != len(prog) || plen == 0 || plen%8 != 0 || plen > maxProgram {
		return nil, false
	}
	return prog, true
}

// store writes the memo file atomically (a partial file is never seen:
// it is renamed into place whole).
func store(dir int, key [32]byte, prog []byte) error {
	name := hex.EncodeToString(key[:])
	// Not the pid in the name: every container's init is pid 1 of its
	// own namespace, and `up` starts many at once.
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".tmp-" + name + "-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "seccomp memo")
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(prog)))
	data := append(append(append(append([]byte{}, fileMagic...), key[:]...), n[:]...), prog...)
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		unix.Unlinkat(dir, tmp, 0)
		return err
	}
	if err := unix.Renameat(dir, tmp, dir, name); err != nil {
		unix.Unlinkat(dir, tmp, 0)
		return err
	}
	prune(dir, maxPrograms)
	return nil
}

// maxPrograms bounds the memo: a program per distinct seccomp profile
// (Docker's default for each capability set, custom profiles) rarely makes
// more than a few, and the oldest go first.
const maxPrograms = 64

// prune deletes the oldest programs of the memo beyond keep, and what
// stores cut short left.
func prune(dir, keep int) {
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), "seccomp memo")
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return
	}
	type prog struct {
		name  string
		mtime int64
	}
	progs := make([]prog, 0, len(names))
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(dir, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if strings.HasPrefix(n, ".tmp-") {
			// a store cut short (its init killed): gone after a minute
			if time.Since(time.Unix(0, st.Mtim.Nano())) > time.Minute {
				unix.Unlinkat(dir, n, 0)
			}
			continue
		}
		progs = append(progs, prog{n, st.Mtim.Nano()})
	}
	sort.Slice(progs, func(i, j int) bool { return progs[i].mtime < progs[j].mtime })
	for _, p := range progs[:max(0, len(progs)-keep)] {
		unix.Unlinkat(dir, p.name, 0)
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func errnoRC(err error) C.int {
	var e unix.Errno
	if errors.As(err, &e) {
		return -C.int(e)
	}
	return -C.int(unix.EIO)
}

//export berthSeccompExport
func berthSeccompExport(ctx unsafe.Pointer, log *C.uchar, n C.size_t, fd C.int) C.int {
	dir := int(dirfd.Load())
	if dir < 0 {
		return compileNow(ctx, fd)
	}
	key := keyOf(C.GoBytes(unsafe.Pointer(log), C.int(n)))
	if prog, ok := lookup(dir, key); ok {
		if err := writeAll(int(fd), prog); err != nil {
			return errnoRC(err)
		}
		hits.Add(1)
		return 0
	}
	mfd, err := unix.MemfdCreate("berth-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return compileNow(ctx, fd)
	}
	mem := os.NewFile(uintptr(mfd), "seccomp program")
	defer mem.Close()
	if rc := compileNow(ctx, C.int(mfd)); rc != 0 {
		return rc
	}
	prog := make([]byte, maxProgram+1)
	m, _ := mem.ReadAt(prog, 0)
	prog = prog[:m]
	if err := writeAll(int(fd), prog); err != nil {
		return errnoRC(err)
	}
	if m > 0 && m%8 == 0 && m <= maxProgram {
		store(dir, key, prog) // best effort: the next start compiles again
	}
	return 0
}

// compileNow adds the filter's deferred rules and has libseccomp export it.
func compileNow(ctx unsafe.Pointer, fd C.int) C.int {
	if rc := C.berth_flush(C.scmp_filter_ctx(ctx)); rc != 0 {
		return rc
	}
	return C.berth_real_export(C.scmp_filter_ctx(ctx), fd)
}

// hits counts programs served from the memo (for tests).
var hits atomic.Int64

// Hits returns how many programs this process served from the memo.
func Hits() int64 { return hits.Load() }
