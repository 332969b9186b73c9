package provisioner

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kinds of API failure, for errors.Is on what the client returns. An
// *APIError matches the kinds its status implies; ErrInvalidTransition also
// matches ErrBadRequest.
var (
	// ErrBadRequest: the provisioner refused the request (400). It answers
	// invalid input and invalid state transitions alike, with an empty body.
	ErrBadRequest = errors.New("bad request")
	// ErrInvalidTransition: a 400 to a request whose body was valid, so the
	// installation's state does not allow it.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrUnauthorized: missing or rejected credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: refused by a lock (403): the API security lock, or the
	// deletion lock on a delete.
	ErrForbidden = errors.New("forbidden by a lock")
	// ErrNotFound: no such installation, webhook or cluster installation (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: 409. On create: the name or a domain name is in use (or
	// still reserved after a deletion); see also ErrNameInUse. Elsewhere: the
	// installation's lock is held by another request, or an exec command
	// failed.
	ErrConflict = errors.New("conflict")
	// ErrNameInUse: a create was refused because the name or a domain name is
	// taken or reserved. Matches ErrConflict too.
	ErrNameInUse = errors.New("name or domain name in use")
	// ErrGone: the cluster installation was deleted (410).
	ErrGone = errors.New("gone")
	// ErrRateLimited: too many requests (429).
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: the provisioner failed (5xx).
	ErrServer = errors.New("server error")
)

// APIError is a non-success answer of the provisioner. It keeps the status
// code and the server's message (the real provisioner usually sends none;
// the simulator sends a reason).
type APIError struct {
	Method     string
	Route      string // the route template, e.g. /api/installation/{id}
	StatusCode int
	Message    string
	// RetryAfter is the server's Retry-After, if it sent one.
	RetryAfter time.Duration
	kinds      []error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("provisioner %s %s: %d %s", e.Method, e.Route, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is reports whether the error is of the given kind.
func (e *APIError) Is(target error) bool {
	for _, k := range e.kinds {
		if k == target {
			return true
		}
	}
	return false
}

// newAPIError classifies a status. transition says the request asks for a
// state transition and its body (if any) is valid, so a 400 means the state
// does not allow it; create says the request creates an installation, so a
// 409 means the name is in use.
func newAPIError(method, route string, status int, message string, transition, create bool) *APIError {
	e := &APIError{Method: method, Route: route, StatusCode: status, Message: message}
	switch {
	case status == http.StatusBadRequest:
		e.kinds = []error{ErrBadRequest}
		if transition {
			e.kinds = append(e.kinds, ErrInvalidTransition)
		}
	case status == http.StatusUnauthorized:
		e.kinds = []error{ErrUnauthorized}
	case status == http.StatusForbidden:
		e.kinds = []error{ErrForbidden}
	case status == http.StatusNotFound:
		e.kinds = []error{ErrNotFound}
	case status == http.StatusConflict:
		e.kinds = []error{ErrConflict}
		if create {
			e.kinds = append(e.kinds, ErrNameInUse)
		}
	case status == http.StatusGone:
		e.kinds = []error{ErrGone}
	case status == http.StatusTooManyRequests:
		e.kinds = []error{ErrRateLimited}
	case status >= 500:
		e.kinds = []error{ErrServer}
	}
	return e
}

// StatusCode returns the HTTP status of an *APIError in err's chain, or 0.
func StatusCode(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}
