package image

import (
	"maps"
	"slices"
	"time"
)

// Inspect is the docker-like JSON shape of `image inspect`.
type Inspect struct {
	ID           string `json:"Id"`
	RepoTags     []string
	RepoDigests  []string
	Parent       string
	Comment      string
	Created      string
	Author       string
	Config       InspectConfig
	Architecture string
	Variant      string `json:",omitempty"`
	Os           string
	Size         int64
	RootFS       InspectRootFS
}

// InspectConfig is the Config object of Inspect, in Docker's field shapes
// (maps for ports and volumes).
type InspectConfig struct {
	User         string
	Env          []string
	Cmd          []string
	Entrypoint   []string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Volumes      map[string]struct{}
	StopSignal   string        `json:",omitempty"`
	Healthcheck  *HealthConfig `json:",omitempty"`
}

// InspectRootFS lists an image's layers.
type InspectRootFS struct {
	Type   string
	Layers []string
}

// Inspect returns the docker-like inspect data of img.
func (img *Image) Inspect() Inspect {
	c := img.Config
	in := Inspect{
		ID:           img.ID,
		RepoTags:     nonNil(img.RepoTags),
		RepoDigests:  nonNil(img.RepoDigests),
		Parent:       img.Parent,
		Comment:      img.Comment,
		Author:       img.Author,
		Architecture: img.Architecture,
		Variant:      img.Variant,
		Os:           img.OS,
		Size:         img.Size,
		RootFS:       InspectRootFS{Type: "layers", Layers: nonNil(img.Layers)},
		Config: InspectConfig{
			User: c.User, Env: c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir,
			Labels: maps.Clone(c.Labels), StopSignal: c.StopSignal, Healthcheck: c.Healthcheck,
		},
	}
	if !img.Created.IsZero() {
		in.Created = img.Created.UTC().Format(time.RFC3339Nano)
	}
	for _, p := range c.ExposedPorts {
		if in.Config.ExposedPorts == nil {
			in.Config.ExposedPorts = map[string]struct{}{}
		}
		in.Config.ExposedPorts[p] = struct{}{}
	}
	for _, v := range c.Volumes {
		if in.Config.Volumes == nil {
			in.Config.Volumes = map[string]struct{}{}
		}
		in.Config.Volumes[v] = struct{}{}
	}
	return in
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
