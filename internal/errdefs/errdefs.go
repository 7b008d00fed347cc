// Package errdefs holds berth's error classes. Every package wraps one of
// these once, with identifiers, so that cmd can map a failure to an exit code
// and a user can tell what went wrong:
//
//	fmt.Errorf("volume %q: %w", name, errdefs.ErrNotFound)
package errdefs

import (
	"errors"
	"fmt"
)

// The error classes. Test with errors.Is.
var (
	// ErrNotFound: the named object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an object with that name or id exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: the caller's input is wrong; retrying it unchanged fails again.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the object is in the wrong state (in use, running, stopped).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrConflict: a concurrent change or a taken resource (a port, an address) got in the way.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a needed service or resource cannot be reached now.
	ErrUnavailable = errors.New("unavailable")
	// ErrNotImplemented: berth does not support this (yet).
	ErrNotImplemented = errors.New("not implemented")
)

// Is reports whether err belongs to the class.
func Is(err, class error) bool { return errors.Is(err, class) }

// IsNotFound reports whether err is of class ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Errorf formats like fmt.Errorf (%w included) and puts the error in class
// without appending the class's own words, for messages that already say
// them: errdefs.Errorf(errdefs.ErrNotFound, "no such container: %s", ref)
// reads "no such container: x", not "no such container: x: not found".
func Errorf(class error, format string, a ...any) error {
	return &classed{err: fmt.Errorf(format, a...), class: class}
}

type classed struct {
	err   error
	class error
}

func (e *classed) Error() string   { return e.err.Error() }
func (e *classed) Unwrap() []error { return []error{e.err, e.class} }
