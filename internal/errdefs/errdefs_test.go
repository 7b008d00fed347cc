package errdefs

import (
	"errors"
	"io"
	"testing"
)

func TestErrorfClassifiesWithoutRepeating(t *testing.T) {
	err := Errorf(ErrNotFound, "no such container: %s", "web")
	if err.Error() != "no such container: web" {
		t.Errorf("text %q", err.Error())
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Errorf("class of %v wrong", err)
	}
	wrapped := Errorf(ErrUnavailable, "read state: %w", io.ErrUnexpectedEOF)
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) || !errors.Is(wrapped, ErrUnavailable) {
		t.Errorf("%%w chain lost: %v", wrapped)
	}
}
