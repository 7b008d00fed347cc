package engine

import (
	"context"
	"errors"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/du"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/network"
	"github.com/berth/berth/volume"
)

// Usage is one row of `system df`: how many objects of a kind exist, how
// many are in use, and their bytes on disk.
type Usage struct {
	Type        string // Images, Containers, Local Volumes, Build Cache
	Total       int
	Active      int
	Size        int64
	Reclaimable int64 // bytes a prune would free
}

// DiskUsage reports what images, containers (their writable layers) and
// volumes take on disk, like `docker system df`.
func (e *Engine) DiskUsage(ctx context.Context) ([]Usage, error) {
	list, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	imagesUsed := map[string]bool{}
	ctr := Usage{Type: "Containers", Total: len(list)}
	for _, d := range list {
		imagesUsed[d.Image] = true
		size := dirSize(ctx, e.Runtime.UpperDir(d.ID))
		ctr.Size += size
		if d.State.Running || d.State.Paused || d.State.Restarting {
			ctr.Active++
		} else {
			ctr.Reclaimable += size
		}
	}

	imgs, err := e.Images.List(ctx)
	if err != nil {
		return nil, err
	}
	img := Usage{Type: "Images", Total: len(imgs)}
	for _, i := range imgs {
		img.Size += i.Size
		if imagesUsed[i.ID] {
			img.Active++
		} else {
			img.Reclaimable += i.Size
		}
	}

	vols, err := e.Volumes.List(ctx)
	if err != nil {
		return nil, err
	}
	inUse := e.VolumeInUse(ctx)
	vol := Usage{Type: "Local Volumes", Total: len(vols)}
	for _, v := range vols {
		size, err := e.Volumes.Size(ctx, v.Name)
		if err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		vol.Size += size
		if inUse(v.Name) {
			vol.Active++
		} else {
			vol.Reclaimable += size
		}
	}
	return []Usage{img, ctr, vol, {Type: "Build Cache"}}, nil
}

// Sizes sets each container's SizeRw (the bytes in its writable layer) and
// SizeRootFs (SizeRw plus its image's), as `ps -s` and `inspect -s` show
// them. It walks every writable layer, so it runs only when the user asks
// for sizes.
func (e *Engine) Sizes(ctx context.Context, list []*Details) error {
	imgs, err := e.Images.List(ctx)
	if err != nil {
		return err
	}
	imageSize := make(map[string]int64, len(imgs))
	for _, i := range imgs {
		imageSize[i.ID] = i.Size
	}
	for _, d := range list {
		rw := dirSize(ctx, e.Runtime.UpperDir(d.ID))
		root := rw + imageSize[d.Image]
		d.SizeRw, d.SizeRootFs = &rw, &root
	}
	return ctx.Err()
}

// dirSize is the bytes of file content below dir: what it could count (0
// for a missing dir; a writable layer being removed meanwhile is fine).
func dirSize(ctx context.Context, dir string) int64 {
	n, _ := du.Size(ctx, dir)
	return n
}

// SystemPruneOptions are `system prune`'s flags.
type SystemPruneOptions struct {
	All     bool // remove every unused image, not only dangling ones
	Volumes bool // also prune anonymous volumes no container uses
}

// PruneReport is what SystemPrune removed.
type PruneReport struct {
	Containers, Networks, Images, Volumes []string
	Reclaimed                             int64 // bytes
}

// SystemPrune removes stopped containers, networks no container uses (not
// the default one), dangling (or, with All, unused) images and, with
// Volumes, unused anonymous volumes, in that order so that each step frees
// what the next one may remove. It stops at the first failure and reports
// what it removed up to then.
func (e *Engine) SystemPrune(ctx context.Context, o SystemPruneOptions) (PruneReport, error) {
	var r PruneReport
	list, err := e.List(ctx)
	if err != nil {
		return r, err
	}
	for _, d := range list {
		if d.State.Running || d.State.Paused || d.State.Restarting {
			continue
		}
		size := dirSize(ctx, e.Runtime.UpperDir(d.ID))
		if err := e.Remove(ctx, d.ID, RemoveOptions{}); err != nil {
			return r, err
		}
		r.Containers = append(r.Containers, d.ID)
		r.Reclaimed += size
	}

	nets, err := e.Networks.List(ctx)
	if err != nil {
		return r, err
	}
	for _, n := range nets {
		if n.Name == network.DefaultName {
			continue
		}
		err := e.RemoveNetwork(ctx, n.ID)
		if errors.Is(err, errdefs.ErrFailedPrecondition) || errdefs.IsNotFound(err) {
			continue // in use, or gone meanwhile
		}
		if err != nil {
			return r, err
		}
		r.Networks = append(r.Networks, n.Name)
	}

	lines, freed, err := e.Images.Prune(ctx, image.PruneOptions{All: o.All, InUse: e.ImageInUse(ctx)})
	r.Images, r.Reclaimed = lines, r.Reclaimed+freed
	if err != nil {
		return r, err
	}

	if o.Volumes {
		rep, err := e.Volumes.Prune(ctx, e.VolumeInUse(ctx), volume.PruneOptions{})
		r.Volumes, r.Reclaimed = rep.Removed, r.Reclaimed+rep.SpaceReclaimed
		if err != nil {
			return r, err
		}
	}
	return r, nil
}
