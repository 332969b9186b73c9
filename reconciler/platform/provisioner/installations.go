package provisioner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultPageSize is the page size of the listing helpers when none is
// given (the provisioner's own default is 100 too).
const DefaultPageSize = 100

// ListOptions filter and page a listing of installations.
type ListOptions struct {
	// Page counts from 0. PerPage defaults to DefaultPageSize; -1 asks for
	// everything in one answer.
	Page    int
	PerPage int
	OwnerID string
	GroupID string
	State   string
	// DNS selects the installation with this domain name.
	DNS  string
	Name string
	// IncludeDeleted also returns deleted installations.
	IncludeDeleted bool
	// DeletionLocked, when set, selects by deletion lock.
	DeletionLocked *bool
	// IncludeGroupConfig returns installations with their group's settings
	// (env vars, image, version) merged in. The provisioner does that by
	// default; this client does not, because a patch changes only the
	// installation's own settings, and comparing it with merged ones would
	// never converge.
	IncludeGroupConfig bool
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	perPage := o.PerPage
	if perPage == 0 {
		perPage = DefaultPageSize
	}
	q.Set("page", strconv.Itoa(o.Page))
	q.Set("per_page", strconv.Itoa(perPage))
	if o.IncludeDeleted {
		q.Set("include_deleted", "true")
	}
	for k, v := range map[string]string{"owner": o.OwnerID, "group": o.GroupID, "state": o.State, "dns_name": o.DNS, "name": o.Name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.DeletionLocked != nil {
		q.Set("deletion_locked", strconv.FormatBool(*o.DeletionLocked))
	}
	if !o.IncludeGroupConfig {
		setOwnConfigOnly(q)
	}
	return q
}

// setOwnConfigOnly asks for an installation's own settings, without its
// group's configuration or overrides merged in (the provisioner's default).
func setOwnConfigOnly(q url.Values) {
	q.Set("include_group_config", "false")
	q.Set("include_group_config_overrides", "false")
}

// CreateInstallation asks for a new installation (POST /api/installations,
// answered 202 in creation-requested). It is never retried: a lost answer
// may still have created the installation, so the caller looks it up by
// name before trying again. A taken or reserved name or domain name is
// ErrNameInUse (and ErrConflict).
func (c *Client) CreateInstallation(ctx context.Context, req CreateInstallationRequest) (*Installation, error) {
	var out Installation
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/installations", path: "/installations",
		body: req, create: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("creating installation %q: %w", req.Name, err)
	}
	return &out, nil
}

// GetInstallation returns an installation by ID, deleted ones included,
// with its own settings only (see ListOptions.IncludeGroupConfig).
func (c *Client) GetInstallation(ctx context.Context, id string) (*Installation, error) {
	var out Installation
	q := url.Values{}
	setOwnConfigOnly(q)
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/installation/{id}",
		path: "/installation/" + pathID(id), query: q, idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("getting installation %s: %w", id, err)
	}
	return &out, nil
}

// GetInstallationByName returns the live (not deleted) installation with
// this name, or ErrNotFound.
func (c *Client) GetInstallationByName(ctx context.Context, name string) (*Installation, error) {
	// The provisioner stores names lower-cased and matches them exactly.
	name = strings.ToLower(name)
	return c.getOne(ctx, ListOptions{Name: name}, "name "+name)
}

// GetInstallationByDNS returns the live installation with this domain
// name, or ErrNotFound.
func (c *Client) GetInstallationByDNS(ctx context.Context, dns string) (*Installation, error) {
	dns = strings.ToLower(dns)
	return c.getOne(ctx, ListOptions{DNS: dns}, "domain name "+dns)
}

func (c *Client) getOne(ctx context.Context, opts ListOptions, what string) (*Installation, error) {
	opts.PerPage = 2
	list, err := c.ListInstallations(ctx, opts)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("getting installation with %s: %w", what, ErrNotFound)
	}
	return list[0], nil
}

// ListInstallations returns one page of installations, oldest first.
func (c *Client) ListInstallations(ctx context.Context, opts ListOptions) ([]*Installation, error) {
	var out []*Installation
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/installations", path: "/installations",
		query: opts.query(), idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("listing installations: %w", err)
	}
	return out, nil
}

// ListInstallationPages pages through every installation matching opts
// from opts.Page on, calling fn with each non-empty page. It stops at the
// first short page, so N installations take floor(N/PerPage)+1 requests:
// ceil(N/PerPage) unless PerPage divides N, when one last empty page
// confirms the end.
func (c *Client) ListInstallationPages(ctx context.Context, opts ListOptions, fn func(page []*Installation) error) error {
	return c.listPages(ctx, opts, func(body []byte) (int, error) {
		var page []*Installation
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return 0, nil
		}
		return len(page), fn(page)
	})
}

// ListInstallationPagesJSON pages through installations as
// ListInstallationPages does, handing fn each non-empty page undecoded: the
// JSON document of each installation as the provisioner sent it, valid only
// until fn returns. A caller that has seen a document before can skip
// decoding it again (Platform does).
func (c *Client) ListInstallationPagesJSON(ctx context.Context, opts ListOptions, fn func(page [][]byte) error) error {
	var docs [][]byte
	return c.listPages(ctx, opts, func(body []byte) (int, error) {
		var err error
		if docs, err = splitArray(body, docs[:0]); err != nil || len(docs) == 0 {
			return 0, err
		}
		return len(docs), fn(docs)
	})
}

// listPages asks for pages from opts.Page on and hands each answer's body
// to page, which returns how many installations it held, until a short
// page. An error of page's own (the caller's) is returned as it is.
func (c *Client) listPages(ctx context.Context, opts ListOptions, page func(body []byte) (int, error)) error {
	if opts.PerPage <= 0 {
		opts.PerPage = DefaultPageSize
	}
	for {
		var n int
		var callerErr error
		err := c.do(ctx, call{method: http.MethodGet, route: "/api/installations", path: "/installations",
			query: opts.query(), idempotent: true, read: func(body []byte) error {
				var err error
				if n, err = page(body); err != nil && n > 0 {
					callerErr = err // decoded, and the caller failed
					return nil
				}
				return err
			}})
		switch {
		case callerErr != nil:
			return callerErr
		case err != nil:
			return fmt.Errorf("listing installations: %w", err)
		case n < opts.PerPage:
			return nil
		}
		opts.Page++
	}
}

// splitArray appends to out the elements of the JSON array in data, as
// sub-slices of it. It checks the array's structure (brackets, braces,
// strings) only: each element is checked when it is decoded. A JSON null is
// an empty array, as encoding/json reads it.
func splitArray(data []byte, out [][]byte) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return out, nil
	}
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return out, errors.New("not a JSON array")
	}
	body := data[1 : len(data)-1]
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	depth, start := 0, 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
			if i >= len(body) {
				return out, errors.New("unterminated string in JSON array")
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth < 0 {
				return out, errors.New("unbalanced JSON array")
			}
		case ',':
			if depth == 0 {
				if out, start = appendElement(out, body[start:i]), i+1; out == nil {
					return nil, errors.New("empty element in JSON array")
				}
			}
		}
	}
	if depth != 0 {
		return out, errors.New("unbalanced JSON array")
	}
	if out = appendElement(out, body[start:]); out == nil {
		return nil, errors.New("empty element in JSON array")
	}
	return out, nil
}

// appendElement appends the trimmed element, or returns nil if it is empty.
func appendElement(out [][]byte, elem []byte) [][]byte {
	if elem = bytes.TrimSpace(elem); len(elem) == 0 {
		return nil
	}
	return append(out, elem)
}

// ListAllInstallations returns every installation matching opts (see
// ListInstallationPages).
func (c *Client) ListAllInstallations(ctx context.Context, opts ListOptions) ([]*Installation, error) {
	var all []*Installation
	err := c.ListInstallationPages(ctx, opts, func(page []*Installation) error {
		all = append(all, page...)
		return nil
	})
	return all, err
}

// UpdateInstallation patches an installation (PUT .../mattermost). The
// provisioner moves it to update-requested when the patch changes
// something and leaves the state alone otherwise; it accepts the request in
// stable, update-requested, update-in-progress and update-failed.
// Idempotent: repeating the same patch changes nothing more, so it is
// retried.
func (c *Client) UpdateInstallation(ctx context.Context, id string, patch PatchInstallationRequest) (*Installation, error) {
	var out Installation
	err := c.do(ctx, call{method: http.MethodPut, route: "/api/installation/{id}/mattermost",
		path: "/installation/" + pathID(id) + "/mattermost", body: patch, idempotent: true,
		transition: patch.Validate() == nil, out: &out})
	if err != nil {
		return nil, fmt.Errorf("updating installation %s: %w", id, err)
	}
	return &out, nil
}

// HibernateInstallation asks a stable installation to hibernate. Not
// retried: once accepted, a repeat is refused as an invalid transition.
func (c *Client) HibernateInstallation(ctx context.Context, id string) (*Installation, error) {
	return c.transition(ctx, id, "/hibernate", nil)
}

// WakeUpInstallation wakes a hibernating installation, applying patch (may
// be nil) on the way. Not retried.
func (c *Client) WakeUpInstallation(ctx context.Context, id string, patch *PatchInstallationRequest) (*Installation, error) {
	if patch == nil {
		patch = &PatchInstallationRequest{}
	}
	return c.transition(ctx, id, "/wakeup", patch)
}

// RetryCreateInstallation asks the provisioner to try a failed creation
// again (POST /api/installation/{id}).
func (c *Client) RetryCreateInstallation(ctx context.Context, id string) (*Installation, error) {
	return c.transition(ctx, id, "", nil)
}

func (c *Client) transition(ctx context.Context, id, suffix string, patch *PatchInstallationRequest) (*Installation, error) {
	var out Installation
	cl := call{method: http.MethodPost, route: "/api/installation/{id}" + suffix,
		path: "/installation/" + pathID(id) + suffix, transition: true, out: &out}
	if patch != nil {
		cl.body = patch
		cl.transition = patch.Validate() == nil
	}
	if err := c.do(ctx, cl); err != nil {
		return nil, fmt.Errorf("requesting %s of installation %s: %w", transitionName(suffix), id, err)
	}
	return &out, nil
}

func transitionName(suffix string) string {
	switch suffix {
	case "/hibernate":
		return "hibernation"
	case "/wakeup":
		return "wake-up"
	default:
		return "creation retry"
	}
}

// DeleteInstallation deletes an installation. A stable, hibernating or
// updating installation first goes to deletion-pending for the
// provisioner's pending window (CancelInstallationDeletion can still save
// it); one that never finished creating is deleted at once. Retried: a
// repeat during deletion-pending-requested is accepted again; later ones
// are refused with ErrInvalidTransition, which callers treat as "already
// on its way out". A deletion lock gives ErrForbidden.
func (c *Client) DeleteInstallation(ctx context.Context, id string) error {
	err := c.do(ctx, call{method: http.MethodDelete, route: "/api/installation/{id}",
		path: "/installation/" + pathID(id), idempotent: true, transition: true})
	if err != nil {
		return fmt.Errorf("deleting installation %s: %w", id, err)
	}
	return nil
}

// CancelInstallationDeletion takes an installation in deletion-pending back
// (to deletion-cancellation-requested, then stable). Not retried.
func (c *Client) CancelInstallationDeletion(ctx context.Context, id string) error {
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/installation/{id}/deletion/cancel",
		path: "/installation/" + pathID(id) + "/deletion/cancel", transition: true})
	if err != nil {
		return fmt.Errorf("cancelling deletion of installation %s: %w", id, err)
	}
	return nil
}

// SetDeletionPendingExpiry moves the end of a pending deletion (only in
// deletion-pending; the time may not be in the past).
func (c *Client) SetDeletionPendingExpiry(ctx context.Context, id string, expiry time.Time) (*Installation, error) {
	ms := Millis(expiry)
	var out Installation
	err := c.do(ctx, call{method: http.MethodPut, route: "/api/installation/{id}/deletion",
		path: "/installation/" + pathID(id) + "/deletion", body: PatchInstallationDeletionRequest{DeletionPendingExpiry: &ms},
		idempotent: true, transition: !expiry.Before(time.Now().Add(-5 * time.Second)), out: &out})
	if err != nil {
		return nil, fmt.Errorf("setting pending deletion expiry of installation %s: %w", id, err)
	}
	return &out, nil
}

// ScheduleInstallationDeletion schedules the installation's deletion at a
// future time; the zero time clears the schedule.
func (c *Client) ScheduleInstallationDeletion(ctx context.Context, id string, at time.Time) (*Installation, error) {
	ms := Millis(at)
	if at.IsZero() {
		ms = 0
	}
	var out Installation
	err := c.do(ctx, call{method: http.MethodPut, route: "/api/installation/{id}/deletion/schedule",
		path: "/installation/" + pathID(id) + "/deletion/schedule", body: PatchInstallationScheduledDeletionRequest{ScheduledDeletionTime: &ms},
		idempotent: true, transition: ms == 0 || at.After(time.Now()), out: &out})
	if err != nil {
		return nil, fmt.Errorf("scheduling deletion of installation %s: %w", id, err)
	}
	return &out, nil
}

// AddInstallationAnnotations adds annotations. Not retried: the provisioner
// answers 500 to an annotation the installation already has, so callers add
// only the missing ones.
func (c *Client) AddInstallationAnnotations(ctx context.Context, id string, names ...string) (*Installation, error) {
	var out Installation
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/installation/{id}/annotations",
		path: "/installation/" + pathID(id) + "/annotations", body: map[string][]string{"annotations": names}, out: &out})
	if err != nil {
		return nil, fmt.Errorf("annotating installation %s: %w", id, err)
	}
	return &out, nil
}

// DeleteInstallationAnnotation removes an annotation (absent is fine).
func (c *Client) DeleteInstallationAnnotation(ctx context.Context, id, name string) error {
	err := c.do(ctx, call{method: http.MethodDelete, route: "/api/installation/{id}/annotation/{name}",
		path: "/installation/" + pathID(id) + "/annotation/" + pathID(name), idempotent: true})
	if err != nil {
		return fmt.Errorf("removing annotation %s from installation %s: %w", name, id, err)
	}
	return nil
}

// GetInstallationsStatus counts non-deleted installations by state.
func (c *Client) GetInstallationsStatus(ctx context.Context) (*InstallationsStatus, error) {
	var out InstallationsStatus
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/installations/status",
		path: "/installations/status", idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("getting installations status: %w", err)
	}
	return &out, nil
}

// CountInstallations counts installations.
func (c *Client) CountInstallations(ctx context.Context, includeDeleted bool) (int64, error) {
	var out InstallationsCount
	q := url.Values{}
	if includeDeleted {
		q.Set("include_deleted", "true")
	}
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/installations/count",
		path: "/installations/count", query: q, idempotent: true, out: &out})
	if err != nil {
		return 0, fmt.Errorf("counting installations: %w", err)
	}
	return out.Count, nil
}

// Lock toggles of an installation (POST /api/security/installation/{id}/...).
// They are idempotent and retried.
const (
	LockAPI        = "api/lock"
	UnlockAPI      = "api/unlock"
	LockDeletion   = "deletion/lock"
	UnlockDeletion = "deletion/unlock"
)

// SetInstallationLock applies one of LockAPI, UnlockAPI, LockDeletion,
// UnlockDeletion. An API-locked installation refuses changes with
// ErrForbidden; a deletion-locked one refuses deletion.
func (c *Client) SetInstallationLock(ctx context.Context, id, toggle string) error {
	switch toggle {
	case LockAPI, UnlockAPI, LockDeletion, UnlockDeletion:
	default:
		return fmt.Errorf("unknown installation lock toggle %q", toggle)
	}
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/security/installation/{id}/" + toggle,
		path: "/security/installation/" + pathID(id) + "/" + toggle, idempotent: true})
	if err != nil {
		return fmt.Errorf("%s of installation %s: %w", toggle, id, err)
	}
	return nil
}
