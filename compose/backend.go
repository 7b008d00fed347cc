package compose

import (
	"context"
	"io"
	"time"
)

// Containers is what compose needs of the container engine. Containers are
// named by id; names are unique per host.
//
//   - Create makes the container (filesystem, mounts, network endpoints
//     prepared) without starting it; a taken name is errdefs.ErrAlreadyExists.
//   - Start runs a created or stopped container and returns once its process
//     runs.
//   - Stop sends the stop signal and waits up to timeout (nil: the
//     container's own stop timeout) before killing; a stopped container is
//     not an error.
//   - Remove deletes a stopped container (force: a running one too); a
//     missing container is errdefs.ErrNotFound.
//   - Inspect reports the current state; a missing container is
//     errdefs.ErrNotFound.
//   - List returns the project's containers, read from their labels
//     (LabelProject, LabelService, LabelNumber, LabelOneOff, LabelConfigHash,
//     LabelImage), one-off ones included.
type Containers interface {
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout *time.Duration) error
	Remove(ctx context.Context, id string, force bool) error
	Inspect(ctx context.Context, id string) (ContainerState, error)
	List(ctx context.Context, project string) ([]ObservedContainer, error)
}

// ContainerState is what the executor watches while a dependent waits.
type ContainerState struct {
	Status   string // created, running, restarting, paused, exited, dead
	ExitCode int
	// Health is "" for a container without a healthcheck, else starting,
	// healthy or unhealthy.
	Health string
}

// NetworkSpec describes a project network to create.
type NetworkSpec struct {
	Name     string // the real name
	Internal bool
	Subnet   string
	Gateway  string
	Labels   map[string]string
	Options  map[string]string
}

// Networks is what compose needs of the network manager. Create of an
// existing name is errdefs.ErrAlreadyExists; Remove of a missing one is
// errdefs.ErrNotFound, of one in use errdefs.ErrFailedPrecondition. List
// returns the real names of the networks labelled with the project.
type Networks interface {
	Create(ctx context.Context, spec NetworkSpec) error
	Remove(ctx context.Context, name string) error
	Exists(ctx context.Context, name string) (bool, error)
	List(ctx context.Context, project string) ([]string, error)
}

// VolumeSpec describes a project volume to create.
type VolumeSpec struct {
	Name    string // the real name
	Labels  map[string]string
	Options map[string]string
}

// Volumes is what compose needs of the volume store, with the same error
// classes as Networks.
type Volumes interface {
	Create(ctx context.Context, spec VolumeSpec) error
	Remove(ctx context.Context, name string) error
	Exists(ctx context.Context, name string) (bool, error)
	List(ctx context.Context, project string) ([]string, error)
}

// Images resolves image references. Exists returns the image id
// ("sha256:..."), or errdefs.ErrNotFound when the image is not present.
type Images interface {
	Exists(ctx context.Context, ref string) (id string, err error)
}

// Builder builds a service's image.
type Builder interface {
	// Build builds r and tags it r.Image; it returns the image id. A
	// failed build leaves no container behind.
	Build(ctx context.Context, r BuildRequest) (id string, err error)
}

// BuildRequest is one service's build.
type BuildRequest struct {
	Service    string
	Image      string // the name to tag
	Context    string
	Dockerfile string // absolute or relative to Context; "" for Context/Dockerfile
	Args       map[string]string
	Labels     map[string]string
	Target     string
	Network    string
	Output     io.Writer // step lines and RUN output; nil discards them
}

// Backend bundles the interfaces the executor drives.
type Backend struct {
	Containers Containers
	Networks   Networks
	Volumes    Volumes
	Images     Images
	// Builder builds images of services with build: (nil: such services
	// need their image already).
	Builder Builder
}
