package image

import (
	"fmt"
	"path"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// Filter decides whether one row of an image listing is shown: img with
// one of its familiar names ("busybox:latest"), or "" for an image without
// names.
type Filter func(img *Image, name string) bool

// ParseFilters builds a Filter from `image ls --filter` values, all of
// which must hold: reference=PATTERN (a glob over the repository or
// repository:tag, "busybox", "*/app:v*"), dangling=true|false, and
// label=KEY or label=KEY=VALUE.
func ParseFilters(filters []string) (Filter, error) {
	var preds []Filter
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("filter %q: %w: use key=value", f, errdefs.ErrInvalidArgument)
		}
		switch k {
		case "reference":
			if _, err := path.Match(v, ""); err != nil {
				return nil, fmt.Errorf("filter %q: %w: bad pattern", f, errdefs.ErrInvalidArgument)
			}
			preds = append(preds, func(_ *Image, n string) bool { return matchReference(v, n) })
		case "dangling":
			want := v == "true" || v == "1"
			if !want && v != "false" && v != "0" {
				return nil, fmt.Errorf("filter %q: %w: dangling takes true or false", f, errdefs.ErrInvalidArgument)
			}
			preds = append(preds, func(img *Image, _ string) bool { return (len(img.RepoTags) == 0) == want })
		case "label":
			lk, lv, hasV := strings.Cut(v, "=")
			preds = append(preds, func(img *Image, _ string) bool {
				got, ok := img.Config.Labels[lk]
				return ok && (!hasV || got == lv)
			})
		default:
			return nil, fmt.Errorf("filter %q: %w: images filter by reference, dangling or label", f, errdefs.ErrInvalidArgument)
		}
	}
	return func(img *Image, n string) bool {
		for _, p := range preds {
			if !p(img, n) {
				return false
			}
		}
		return true
	}, nil
}

// matchReference matches a pattern against a familiar repo:tag the way
// Docker does: against the repository, or against repository:tag. A
// pattern naming a registry or "library/" is compared in familiar form.
func matchReference(pattern, name string) bool {
	if name == "" {
		return false
	}
	if !strings.ContainsAny(pattern, "*?[") {
		pattern = FamiliarName(pattern)
		if strings.HasSuffix(pattern, ":"+defaultTag) && !strings.HasSuffix(name, ":"+defaultTag) {
			pattern = strings.TrimSuffix(pattern, ":"+defaultTag)
		}
	}
	repo, _ := SplitRepoTag(name)
	if ok, _ := path.Match(pattern, repo); ok {
		return true
	}
	ok, _ := path.Match(pattern, name)
	return ok
}
