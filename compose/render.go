package compose

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth/berth/internal/errdefs"
)

// renderedModel holds the canonical form of the loaded model, as
// `config` prints it.
type renderedModel struct {
	yaml []byte
	json []byte
}

func (r *renderedModel) capture(cp *types.Project) error {
	y, err := cp.MarshalYAML()
	if err != nil {
		return fmt.Errorf("project %q: render yaml: %w", cp.Name, err)
	}
	j, err := cp.MarshalJSON()
	if err != nil {
		return fmt.Errorf("project %q: render json: %w", cp.Name, err)
	}
	r.yaml, r.json = y, j
	return nil
}

// Render returns the loaded, merged, interpolated and normalized model in
// "yaml" (the default) or "json", as `berth config` prints it.
func (p *Project) Render(format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		return p.rendered.yaml, nil
	case "json":
		return p.rendered.json, nil
	default:
		return nil, fmt.Errorf("format %q: use yaml or json: %w", format, errdefs.ErrInvalidArgument)
	}
}
