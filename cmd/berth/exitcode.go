package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth/berth/image/build"
	"github.com/berth/berth/internal/errdefs"
)

// statusError carries an exit status a command must return without berth
// having failed: run and exec return their container's code this way.
type statusError struct {
	code int
	msg  string // printed when non-empty
}

func (e *statusError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// withStatus returns an error that makes berth exit with code, printing msg
// (nothing when msg is empty).
func withStatus(code int, msg string) error { return &statusError{code: code, msg: msg} }

// exitCode maps an error to berth's exit status. Docker's conventions hold:
// run/exec return the container's code (a statusError), 125 when berth
// itself failed, 130 when interrupted; a build whose RUN failed exits 1,
// as docker build does.
func exitCode(err error) int {
	var se *statusError
	var be *build.ExitError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &be):
		return 1
	case errors.Is(err, context.Canceled):
		return 130
	default:
		return 125
	}
}

// errorMessage is what main prints after "berth: ". A statusError without a
// message prints nothing. Without --debug only the outermost chain text is
// shown (it already names the objects); with --debug the classes are named too.
func errorMessage(err error, debug bool) string {
	var se *statusError
	if errors.As(err, &se) {
		return se.msg
	}
	if debug {
		return fmt.Sprintf("%v (%s)", err, classOf(err))
	}
	return err.Error()
}

func classOf(err error) string {
	for _, c := range []error{errdefs.ErrNotFound, errdefs.ErrAlreadyExists, errdefs.ErrInvalidArgument,
		errdefs.ErrFailedPrecondition, errdefs.ErrConflict, errdefs.ErrUnavailable, errdefs.ErrNotImplemented} {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return "unclassified"
}
