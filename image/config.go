package image

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"
)

// Image is one image in the store.
type Image struct {
	ID           string // "sha256:<hex>" of the config blob (Docker's image id)
	RepoTags     []string
	RepoDigests  []string
	Parent       string // the image this one was committed on, if made here
	Comment      string
	Author       string
	Created      time.Time
	Size         int64 // sum of uncompressed layer sizes
	Architecture string
	Variant      string
	OS           string
	Config       ImageConfig
	Layers       []string // diff ids, bottom first
	History      []History
}

// ImageConfig holds the config fields of an OCI/Docker image that berth
// uses to run containers.
type ImageConfig struct {
	User         string
	Env          []string
	Entrypoint   []string
	Cmd          []string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts []string // "80/tcp", sorted
	Volumes      []string // sorted
	StopSignal   string
	Healthcheck  *HealthConfig
}

// HealthConfig is an image's HEALTHCHECK. Test is ["NONE"], ["CMD", args...]
// or ["CMD-SHELL", command]; zero durations mean the defaults.
type HealthConfig struct {
	Test          []string      `json:",omitempty"`
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

// History is one step of how an image was made. Size is the size of the
// layer the step made (0 for an EmptyLayer step).
type History struct {
	Created    time.Time
	CreatedBy  string
	Comment    string
	Author     string
	EmptyLayer bool
	Size       int64
}

// configFile is the Docker/OCI image config JSON.
type configFile struct {
	Architecture    string           `json:"architecture"`
	Variant         string           `json:"variant,omitempty"`
	OS              string           `json:"os"`
	Created         *time.Time       `json:"created,omitempty"`
	Author          string           `json:"author,omitempty"`
	Comment         string           `json:"comment,omitempty"`
	Parent          string           `json:"parent,omitempty"`
	DockerVersion   string           `json:"docker_version,omitempty"`
	Config          containerConfig  `json:"config"`
	ContainerConfig *json.RawMessage `json:"container_config,omitempty"`
	RootFS          rootFS           `json:"rootfs"`
	History         []historyEntry   `json:"history,omitempty"`
}

type containerConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Healthcheck  *HealthConfig       `json:"Healthcheck,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	OnBuild      []string            `json:"OnBuild,omitempty"`
	Shell        []string            `json:"Shell,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type historyEntry struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Author     string     `json:"author,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}

func (c containerConfig) toImageConfig() ImageConfig {
	ic := ImageConfig{
		User:        c.User,
		Env:         slices.Clone(c.Env),
		Entrypoint:  slices.Clone(c.Entrypoint),
		Cmd:         slices.Clone(c.Cmd),
		WorkingDir:  c.WorkingDir,
		Labels:      maps.Clone(c.Labels),
		StopSignal:  c.StopSignal,
		Healthcheck: c.Healthcheck,
	}
	for p := range c.ExposedPorts {
		ic.ExposedPorts = append(ic.ExposedPorts, p)
	}
	sort.Strings(ic.ExposedPorts)
	for v := range c.Volumes {
		ic.Volumes = append(ic.Volumes, v)
	}
	sort.Strings(ic.Volumes)
	return ic
}

// apply writes ic's fields into c, keeping fields berth does not model
// (OnBuild, Shell).
func (c *containerConfig) apply(ic ImageConfig) {
	c.User = ic.User
	c.Env = slices.Clone(ic.Env)
	c.Entrypoint = slices.Clone(ic.Entrypoint)
	c.Cmd = slices.Clone(ic.Cmd)
	c.WorkingDir = ic.WorkingDir
	c.Labels = maps.Clone(ic.Labels)
	c.StopSignal = ic.StopSignal
	c.Healthcheck = ic.Healthcheck
	c.ExposedPorts = nil
	for _, p := range ic.ExposedPorts {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	c.Volumes = nil
	for _, v := range ic.Volumes {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		c.Volumes[v] = struct{}{}
	}
}

// fromConfig builds the Image view of a parsed config; sizes are the
// uncompressed sizes of the layers, bottom first.
func fromConfig(id string, cf *configFile, sizes []int64) *Image {
	img := &Image{
		ID:           id,
		Parent:       cf.Parent,
		Comment:      cf.Comment,
		Author:       cf.Author,
		Architecture: cf.Architecture,
		Variant:      cf.Variant,
		OS:           cf.OS,
		Config:       cf.Config.toImageConfig(),
		Layers:       slices.Clone(cf.RootFS.DiffIDs),
	}
	if cf.Created != nil {
		img.Created = *cf.Created
	}
	for _, s := range sizes {
		img.Size += s
	}
	li := 0
	for _, h := range cf.History {
		e := History{CreatedBy: h.CreatedBy, Comment: h.Comment, Author: h.Author, EmptyLayer: h.EmptyLayer}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && li < len(sizes) {
			e.Size = sizes[li]
			li++
		}
		img.History = append(img.History, e)
	}
	if len(cf.History) == 0 { // some OCI images carry none: one step per layer
		for _, sz := range sizes {
			img.History = append(img.History, History{Created: img.Created, Size: sz})
		}
	}
	return img
}
