// Package apperr holds the few error kinds that callers branch on. The HTTP
// layer maps them to status codes in one place; the CLI prints their message.
package apperr

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/lastmile/lastmile/internal/store"
)

// Kind says what went wrong in terms a client can act on.
type Kind string

// The error kinds.
const (
	Invalid      Kind = "invalid"      // the request is wrong; Message says how
	NotFound     Kind = "not_found"    // no such thing (or not visible to the caller)
	Conflict     Kind = "conflict"     // the request clashes with the current state
	Forbidden    Kind = "forbidden"    // authenticated but not allowed
	Unauthorized Kind = "unauthorized" // no or bad credentials
	TooLarge     Kind = "too_large"    // the body or a part of it is too big
	Unsupported  Kind = "unsupported"  // unsupported media type
	BadMethod    Kind = "method_not_allowed"
	Unavailable  Kind = "unavailable" // not set up or not reachable right now
	Upstream     Kind = "upstream"    // a provider (Twilio, SMTP, …) refused or failed; Message says how
	Internal     Kind = "internal"    // our fault; details are logged, not shown
)

// Error is an error with a kind and a message safe to show to the client.
type Error struct {
	Kind    Kind
	Message string
	Details string
	Err     error
}

func (e *Error) Error() string {
	if e.Details != "" {
		return e.Message + ": " + e.Details
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns an error of kind k whose details explain the message.
func WithDetails(k Kind, msg, details string) error {
	return &Error{Kind: k, Message: msg, Details: details}
}

// KindOf returns the kind of err: its own, NotFound for store.ErrNotFound,
// Internal otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, store.ErrNotFound) {
		return NotFound
	}
	return Internal
}

// As returns err's *Error, if it has one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HTTPStatus is the HTTP status that answers an error of kind k.
func HTTPStatus(k Kind) int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Forbidden:
		return http.StatusForbidden
	case Unauthorized:
		return http.StatusUnauthorized
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unsupported:
		return http.StatusUnsupportedMediaType
	case BadMethod:
		return http.StatusMethodNotAllowed
	case Unavailable:
		return http.StatusServiceUnavailable
	case Upstream:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}
