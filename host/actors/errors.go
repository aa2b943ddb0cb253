package actors

import (
	"errors"
	"fmt"
)

// Typed errors of actor calls and installs. Every error the runtime returns for a call is a
// *CallError that matches one of these with errors.Is and names the actor.
var (
	ErrTimeout         = errors.New("actor call timed out")
	ErrTrap            = errors.New("actor trapped")
	ErrMemoryLimit     = errors.New("actor exceeded its memory cap")
	ErrOutputTooLarge  = errors.New("actor output over its cap")
	ErrBadOutput       = errors.New("actor output malformed")
	ErrRequestTooLarge = errors.New("request too large for an actor")
	ErrNoActor         = errors.New("no actor for this voice")
	ErrRefused         = errors.New("actor refused")
	ErrActor           = errors.New("actor answered with an error")
	ErrHostFunction    = errors.New("a host function failed during the call")
	ErrClosed          = errors.New("actor runtime closed")
)

// ErrNoGenerator is what an Env's Generate returns when no text-generation endpoint is
// configured; the guest then sees UNAVAILABLE and composes the page itself.
var ErrNoGenerator = errors.New("actors: no text generator configured")

// CallError is the error of one failed call (or install): which actor, what kind of failure
// (one of the Err* values above) and the detail.
type CallError struct {
	Actor   string // actor name ("" when no actor was found)
	Version string
	Hash    string
	Voice   string
	Kind    error // ErrTimeout, ErrTrap, ...
	Detail  string
	Cause   error // underlying error, if any
}

func (e *CallError) Error() string {
	who := e.Actor
	if who == "" {
		who = "voice " + e.Voice
	} else if e.Version != "" {
		who += "@" + e.Version
	}
	s := fmt.Sprintf("%s: %v", who, e.Kind)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap lets errors.Is match the kind and the cause.
func (e *CallError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// Retryable reports whether a failed call may succeed if tried again (the instance was
// discarded or the failure was transient) rather than being a property of the request.
func Retryable(err error) bool {
	switch {
	case errors.Is(err, ErrRequestTooLarge), errors.Is(err, ErrNoActor), errors.Is(err, ErrClosed):
		return false
	}
	return err != nil
}
