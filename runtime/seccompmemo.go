package runtime

import (
	"os"
	"path/filepath"

	"github.com/berth/berth/internal/seccompmemo"
)

// seccompMemoDir is where the inits of a runtime's containers keep the
// seccomp programs libseccomp compiled for them (internal/seccompmemo):
// in the run root, next to the containers' run directories, so gone at a
// reboot (libseccomp or the kernel may have changed).
func seccompMemoDir(runRoot string) string { return filepath.Join(runRoot, ".seccomp") }

// PrepareInit runs in libcontainer's init process ("init" argv) before
// libcontainer.Init: it opens the seccomp memo of the container's runtime,
// found from the working directory libcontainer starts the init in, the
// container's rootfs (<run root>/<id>/rootfs). Anywhere else (a build
// step's init) the profile is compiled as usual.
func PrepareInit() {
	cwd, err := os.Getwd()
	if err != nil || filepath.Base(cwd) != "rootfs" {
		return
	}
	seccompmemo.Open(seccompMemoDir(filepath.Dir(filepath.Dir(cwd))))
}
