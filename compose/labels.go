package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Labels berth puts on what it creates, the same as Docker Compose's so that
// tools reading them work on berth projects.
const (
	LabelProject     = "com.docker.compose.project"
	LabelService     = "com.docker.compose.service"
	LabelNumber      = "com.docker.compose.container-number"
	LabelOneOff      = "com.docker.compose.oneoff"
	LabelConfigHash  = "com.docker.compose.config-hash"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelDependsOn   = "com.docker.compose.depends_on"
	LabelImage       = "com.docker.compose.image"
	LabelVersion     = "com.docker.compose.version"
	LabelNetwork     = "com.docker.compose.network"
	LabelVolume      = "com.docker.compose.volume"
)

// Version is the value of the com.docker.compose.version label: the Compose
// file behaviour berth follows.
const Version = "2.0.0"

// ContainerName returns the name of a service's container number n:
// container_name when set, else <project>-<service>-<n>.
func ContainerName(project string, s *Service, n int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return fmt.Sprintf("%s-%s-%d", project, s.Name, n)
}

// OneOffName returns the name of a `run` container of a service.
func OneOffName(project, service, suffix string) string {
	return fmt.Sprintf("%s-%s-run-%s", project, service, suffix)
}

// ContainerLabels returns the labels of a service's container: the
// service's own labels plus Docker Compose's.
func ContainerLabels(p *Project, s *Service, n int, oneOff bool, hash, imageID string) map[string]string {
	l := map[string]string{}
	for k, v := range s.Labels {
		l[k] = v
	}
	l[LabelProject] = p.Name
	l[LabelService] = s.Name
	l[LabelNumber] = strconv.Itoa(n)
	l[LabelOneOff] = boolLabel(oneOff)
	l[LabelConfigHash] = hash
	l[LabelWorkingDir] = p.WorkingDir
	l[LabelConfigFiles] = strings.Join(p.ConfigFiles, ",")
	l[LabelImage] = imageID
	l[LabelVersion] = Version
	var deps []string
	for _, d := range s.DependsOn {
		deps = append(deps, fmt.Sprintf("%s:%s:%t", d.Service, d.Condition, d.Restart))
	}
	l[LabelDependsOn] = strings.Join(deps, ",")
	return l
}

// NetworkLabels returns the labels of a project network.
func NetworkLabels(p *Project, key string) map[string]string {
	l := map[string]string{}
	for k, v := range p.Networks[key].Labels {
		l[k] = v
	}
	l[LabelProject], l[LabelNetwork], l[LabelVersion] = p.Name, key, Version
	return l
}

// VolumeLabels returns the labels of a project volume.
func VolumeLabels(p *Project, key string) map[string]string {
	l := map[string]string{}
	for k, v := range p.Volumes[key].Labels {
		l[k] = v
	}
	l[LabelProject], l[LabelVolume], l[LabelVersion] = p.Name, key, Version
	return l
}

func boolLabel(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// ConfigHash is a stable sha256 of the service's configuration as it
// matters for its containers: it leaves out what does not change a container
// (scale, build, pull policy, profiles) and includes the image id, so that
// a rebuilt or re-imported image recreates the container.
func ConfigHash(s Service, imageID string) string {
	s.Scale = 0
	s.Build = nil
	s.PullPolicy = ""
	s.Profiles = nil
	b, err := json.Marshal(struct {
		Service Service
		ImageID string
	}{s, imageID})
	if err != nil {
		// Service holds only plain values: Marshal cannot fail
		panic(fmt.Sprintf("hash service %q: %v", s.Name, err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
