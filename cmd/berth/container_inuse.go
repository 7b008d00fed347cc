package main

import "context"

// containerImageInUse is the real check for image.go's imageInUse: any
// container, running or not, created from imageID.
// image.go uses it as imageInUse.
func containerImageInUse(g *globals) func(imageID string) bool {
	e, err := newEngine(g)
	if err != nil {
		return func(string) bool { return true } // cannot tell: refuse
	}
	return e.ImageInUse(context.Background())
}

// containerVolumeInUse is the real check for volume.go's volumeInUse: any
// container, running or not, that mounts the volume.
// volume.go uses it as volumeInUse.
func containerVolumeInUse(g *globals) func(name string) bool {
	e, err := newEngine(g)
	if err != nil {
		return func(string) bool { return true }
	}
	return e.VolumeInUse(context.Background())
}
