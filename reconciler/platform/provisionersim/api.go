package provisionersim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// The handlers below answer as the provisioner v0.92 does: the same routes,
// status codes and JSON. Where the real server answers an error with an
// empty body, the simulator adds a plain-text reason (clients must not
// depend on it).

func (s *Sim) routes() http.Handler {
	api := http.NewServeMux()
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) { api.HandleFunc(pattern, h) }
	handle("GET /api/installations", s.listInstallations)
	handle("POST /api/installations", s.createInstallation)
	handle("GET /api/installations/count", s.countInstallations)
	handle("GET /api/installations/status", s.installationsStatus)
	handle("GET /api/installation/{id}", s.getInstallation)
	handle("POST /api/installation/{id}", s.retryCreate)
	handle("PUT /api/installation/{id}/mattermost", s.updateInstallation)
	handle("POST /api/installation/{id}/hibernate", s.hibernate)
	handle("POST /api/installation/{id}/wakeup", s.wakeUp)
	handle("DELETE /api/installation/{id}", s.deleteInstallation)
	handle("PUT /api/installation/{id}/deletion", s.updateDeletion)
	handle("POST /api/installation/{id}/deletion/cancel", s.cancelDeletion)
	handle("PUT /api/installation/{id}/deletion/schedule", s.scheduleDeletion)
	handle("POST /api/installation/{id}/annotations", s.addAnnotations)
	handle("DELETE /api/installation/{id}/annotation/{name}", s.deleteAnnotation)
	handle("POST /api/security/installation/{id}/{kind}/{toggle}", s.lockToggle)
	handle("GET /api/cluster_installations", s.listClusterInstallations)
	handle("GET /api/cluster_installation/{id}", s.getClusterInstallation)
	handle("POST /api/cluster_installation/{id}/exec/{command}", s.exec)
	handle("GET /api/webhooks", s.listWebhooks)
	handle("POST /api/webhooks", s.createWebhook)
	handle("GET /api/webhook/{id}", s.getWebhook)
	handle("DELETE /api/webhook/{id}", s.deleteWebhook)

	mux := http.NewServeMux()
	mux.Handle("/api/", s.authenticate(s.injectFaults(api)))
	mux.Handle("/_sim/", s.authenticate(s.adminRoutes()))
	return mux
}

func (s *Sim) authenticate(next http.Handler) http.Handler {
	if s.opts.APIKey == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != s.opts.APIKey {
			http.Error(w, "missing or wrong x-api-key", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// injectFaults applies the configured outages, error rate and latency.
func (s *Sim) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		f, now := s.faults, s.nowLocked()
		s.mu.RUnlock()
		if f.Latency > 0 {
			t := time.NewTimer(time.Duration(f.Latency))
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		for _, o := range f.Outages {
			if !now.Before(o.Start) && now.Before(o.End) {
				secs := int(o.End.Sub(now).Round(time.Second) / time.Second)
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				fail(w, http.StatusServiceUnavailable, "simulated outage until %s", o.End.UTC().Format(time.RFC3339))
				return
			}
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			fail(w, f.ErrorStatus, "simulated error")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, format+"\n", args...)
}

// notFoundRoute is what the provisioner's router answers for a path that
// matches no route (an ID of the wrong shape).
func notFoundRoute(w http.ResponseWriter) { http.Error(w, "404 page not found", http.StatusNotFound) }

func writeJSON(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
	w.Write([]byte{'\n'})
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding answer: %v", err))
	}
	return data
}

// decodeBody reads a JSON body the way the provisioner does: an empty body
// is accepted, unknown fields are ignored.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// lookupByID finds the object named by {id} with find, under the lock the
// caller holds. It answers 404 itself (as the router does for an ID of the
// wrong shape) and returns nil then.
func lookupByID[T any](w http.ResponseWriter, r *http.Request, what string, find func(id string) *T) *T {
	id := r.PathValue("id")
	if !validID(id) {
		notFoundRoute(w)
		return nil
	}
	v := find(id)
	if v == nil {
		fail(w, http.StatusNotFound, "%s %s not found", what, id)
	}
	return v
}

// getByID answers a GET of one object as JSON.
func getByID[T any](s *Sim, w http.ResponseWriter, r *http.Request, what string, find func(id string) *T, encode func(*T) []byte) {
	s.mu.RLock()
	v := lookupByID(w, r, what, find)
	var data []byte
	if v != nil {
		data = encode(v)
	}
	s.mu.RUnlock()
	if v != nil {
		writeJSON(w, http.StatusOK, data)
	}
}

func (s *Sim) installationFor(w http.ResponseWriter, r *http.Request) *inst {
	return lookupByID(w, r, "installation", func(id string) *inst { return s.st.byID[id] })
}

// forTransition checks what the provisioner's getInstallationForTransition
// checks: existence, the API security lock, and the transition table.
func (s *Sim) forTransition(w http.ResponseWriter, r *http.Request, newState string) *inst {
	in := s.installationFor(w, r)
	if in == nil {
		return nil
	}
	if in.APISecurityLock {
		fail(w, http.StatusForbidden, "installation %s is API locked", in.ID)
		return nil
	}
	if !provisioner.CanTransition(in.State, newState) {
		fail(w, http.StatusBadRequest, "unable to transition installation to %q while in state %q", newState, in.State)
		return nil
	}
	return in
}

func (s *Sim) installationURL(dns string) string {
	if s.opts.InstallationURL != "" {
		return s.opts.InstallationURL
	}
	return "https://" + dns
}

func (s *Sim) createInstallation(w http.ResponseWriter, r *http.Request) {
	var req provisioner.CreateInstallationRequest
	if err := decodeBody(r, &req); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode create installation request: %v", err)
		return
	}
	req = req.WithDefaults()
	now := s.Now()
	if err := req.Validate(s.opts.Rules, now); err != nil {
		fail(w, http.StatusBadRequest, "create installation request failed validation: %v", err)
		return
	}
	if !s.licenseAccepted(w, &req.License) {
		return
	}
	if req.GroupID == "" && len(req.GroupSelectionAnnotations) > 0 {
		fail(w, http.StatusBadRequest, "no group matching all annotations found")
		return
	}
	if req.GroupID != "" {
		fail(w, http.StatusNotFound, "group %s not found", req.GroupID)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now = s.nowLocked()
	if s.st.liveByName[req.Name] != nil {
		fail(w, http.StatusConflict, "installation name %q is in use", req.Name)
		return
	}
	if s.st.reserved(req.Name, now, s.opts.NameReservation) {
		fail(w, http.StatusConflict, "installation name %q is reserved: an installation with it was deleted less than %s ago", req.Name, s.opts.NameReservation)
		return
	}
	seen := map[string]bool{}
	for _, dns := range req.DNSNames {
		if s.st.liveByDNS[dns] != nil || seen[dns] {
			fail(w, http.StatusConflict, "domain name %q is in use", dns)
			return
		}
		seen[dns] = true
	}
	if dup := firstDuplicate(req.Annotations); dup != "" {
		fail(w, http.StatusInternalServerError, "failed to create annotations for installation: duplicate annotation %q", dup)
		return
	}

	ms := provisioner.Millis(now)
	group := req.GroupID
	in := &inst{Installation: provisioner.Installation{
		ID: newID(), OwnerID: req.OwnerID, GroupID: &group, Version: req.Version, Image: req.Image,
		Name: req.Name, Database: req.Database, Filestore: req.Filestore, License: req.License,
		MattermostEnv: req.MattermostEnv, PriorityEnv: req.PriorityEnv, Size: req.Size,
		Affinity: req.Affinity, State: provisioner.NonApplicableState, CRVersion: provisioner.DefaultCRVersion,
		CreateAt: ms, ScheduledDeletionTime: req.ScheduledDeletionTime, APISecurityLock: req.APISecurityLock,
		PodProbeOverrides: req.PodProbeOverrides,
		// DeletionLocked is not taken from the request: the provisioner
		// ignores it on create too.
	}}
	switch req.Database {
	case provisioner.DatabaseSingleTenantRDSMySQL, provisioner.DatabaseSingleTenantRDSPostgres:
		c := req.SingleTenantDatabaseConfig
		in.SingleTenantDatabaseConfig = &c
	case provisioner.DatabaseExternal:
		c := req.ExternalDatabaseConfig
		in.ExternalDatabaseConfig = &c
	}
	for i, dns := range req.DNSNames {
		in.DNSRecords = append(in.DNSRecords, &provisioner.DNSRecord{
			ID: newID(), DomainName: dns, InstallationID: in.ID, IsPrimary: i == 0, CreateAt: ms,
		})
	}
	in.DNS = req.DNSNames[0]
	in.URL = s.installationURL(in.DNS)
	for _, name := range req.Annotations {
		in.Annotations = append(in.Annotations, s.st.annotation(name))
	}
	s.st.add(in)
	s.enterLocked(in, provisioner.StateCreationRequested, now, nil)
	writeJSON(w, http.StatusAccepted, in.json())
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, v := range list {
		if seen[v] {
			return v
		}
		seen[v] = true
	}
	return ""
}

func (s *Sim) getInstallation(w http.ResponseWriter, r *http.Request) {
	if _, _, err := parseGroupConfig(r); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	getByID(s, w, r, "installation", func(id string) *inst { return s.st.byID[id] }, (*inst).json)
}

// paging is the provisioner's page, per_page (default 100, -1 for all) and
// include_deleted.
type paging struct {
	page, perPage  int
	includeDeleted bool
}

func parsePaging(r *http.Request) (paging, error) {
	q := r.URL.Query()
	p := paging{perPage: 100}
	var err error
	if v := q.Get("page"); v != "" {
		if p.page, err = strconv.Atoi(v); err != nil {
			return p, fmt.Errorf("failed to parse page as integer: %w", err)
		}
	}
	if v := q.Get("per_page"); v != "" {
		if p.perPage, err = strconv.Atoi(v); err != nil {
			return p, fmt.Errorf("failed to parse per_page as integer: %w", err)
		}
	}
	if v := q.Get("include_deleted"); v != "" {
		if p.includeDeleted, err = strconv.ParseBool(v); err != nil {
			return p, fmt.Errorf("failed to parse include_deleted as boolean: %w", err)
		}
	}
	if p.page < 0 || p.perPage < -1 {
		return p, errors.New("page and per_page must not be negative (per_page -1 means all)")
	}
	return p, nil
}

// window returns the [start, end) of the page among n matches.
func (p paging) window(n int) (int, int) {
	if p.perPage == -1 {
		return 0, n
	}
	start := min(p.page*p.perPage, n)
	return start, min(start+p.perPage, n)
}

func parseGroupConfig(r *http.Request) (bool, bool, error) {
	q := r.URL.Query()
	parse := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return true, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("failed to parse %s as boolean: %w", name, err)
		}
		return b, nil
	}
	a, err := parse("include_group_config")
	if err != nil {
		return false, false, err
	}
	b, err := parse("include_group_config_overrides")
	return a, b, err
}

func (s *Sim) listInstallations(w http.ResponseWriter, r *http.Request) {
	p, err := parsePaging(r)
	if err == nil {
		_, _, err = parseGroupConfig(r)
	}
	q := r.URL.Query()
	var deletionLocked *bool
	if v := q.Get("deletion_locked"); v != "" && err == nil {
		var b bool
		if b, err = strconv.ParseBool(v); err == nil {
			deletionLocked = &b
		}
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	owner, group, state, dns, name := q.Get("owner"), q.Get("group"), q.Get("state"), q.Get("dns_name"), q.Get("name")
	match := func(in *inst) bool {
		if !p.includeDeleted && in.DeleteAt != 0 ||
			owner != "" && in.OwnerID != owner ||
			group != "" && in.Group() != group ||
			state != "" && in.State != state ||
			name != "" && in.Name != name ||
			deletionLocked != nil && in.DeletionLocked != *deletionLocked {
			return false
		}
		if dns != "" {
			for _, rec := range in.DNSRecords {
				if rec.DomainName == dns && (p.includeDeleted || rec.DeleteAt == 0) {
					return true
				}
			}
			return false
		}
		return true
	}

	s.mu.RLock()
	var candidates []*inst
	switch {
	case name != "" && !p.includeDeleted:
		if in := s.st.liveByName[name]; in != nil {
			candidates = []*inst{in}
		}
	case dns != "" && !p.includeDeleted:
		if in := s.st.liveByDNS[dns]; in != nil {
			candidates = []*inst{in}
		}
	default:
		candidates = s.st.order
	}
	skip, limit := p.window(len(candidates))
	limit -= skip // at most this many results
	page, _ := s.pages.Get().(*[]byte)
	if page == nil {
		page = new([]byte)
	}
	defer s.pages.Put(page)
	buf := append((*page)[:0], '[')
	n, matched := 0, 0
	for _, in := range candidates {
		if n >= limit {
			break
		}
		if !match(in) {
			continue
		}
		if matched++; matched <= skip {
			continue
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, in.json()...)
		n++
	}
	s.mu.RUnlock()
	*page = append(buf, ']')
	writeJSON(w, http.StatusOK, *page)
}

func (s *Sim) countInstallations(w http.ResponseWriter, r *http.Request) {
	includeDeleted, _ := strconv.ParseBool(r.URL.Query().Get("include_deleted"))
	s.mu.RLock()
	var n int64
	for _, in := range s.st.order {
		if includeDeleted || in.DeleteAt == 0 {
			n++
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, mustJSON(provisioner.InstallationsCount{Count: n}))
}

func (s *Sim) installationsStatus(w http.ResponseWriter, r *http.Request) {
	var st provisioner.InstallationsStatus
	s.mu.RLock()
	for _, in := range s.st.order {
		if in.DeleteAt != 0 {
			continue
		}
		st.InstallationsTotal++
		switch in.State {
		case provisioner.StateStable:
			st.InstallationsStable++
		case provisioner.StateHibernating:
			st.InstallationsHibernating++
		case provisioner.StateDeletionPending:
			st.InstallationsPendingDeletion++
		}
	}
	s.mu.RUnlock()
	st.InstallationsUpdating = st.InstallationsTotal - st.InstallationsStable - st.InstallationsHibernating - st.InstallationsPendingDeletion
	writeJSON(w, http.StatusOK, mustJSON(st))
}

// transitionTo handles the bodiless transitions: hibernate and retry
// create. The state is left alone when it is already the requested one.
func (s *Sim) transitionTo(newState string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		in := s.forTransition(w, r, newState)
		if in == nil {
			return
		}
		if in.State != newState {
			s.enterLocked(in, newState, s.nowLocked(), nil)
		}
		writeJSON(w, http.StatusAccepted, in.json())
	}
}

func (s *Sim) hibernate(w http.ResponseWriter, r *http.Request) {
	s.transitionTo(provisioner.StateHibernationRequested)(w, r)
}

func (s *Sim) retryCreate(w http.ResponseWriter, r *http.Request) {
	s.transitionTo(provisioner.StateCreationRequested)(w, r)
}

func decodePatch(w http.ResponseWriter, r *http.Request) (*provisioner.PatchInstallationRequest, bool) {
	var p provisioner.PatchInstallationRequest
	if err := decodeBody(r, &p); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode patch installation request: %v", err)
		return nil, false
	}
	if err := p.Validate(); err != nil {
		fail(w, http.StatusBadRequest, "invalid patch installation request: %v", err)
		return nil, false
	}
	return &p, true
}

func (s *Sim) updateInstallation(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePatch(w, r)
	if !ok || !s.licenseAccepted(w, p.License) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.forTransition(w, r, provisioner.StateUpdateRequested)
	if in == nil {
		return
	}
	if applyPatch(&in.Installation, p) {
		s.enterLocked(in, provisioner.StateUpdateRequested, s.nowLocked(), nil)
	}
	writeJSON(w, http.StatusAccepted, in.json())
}

func (s *Sim) wakeUp(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePatch(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.forTransition(w, r, provisioner.StateWakeUpRequested)
	if in == nil {
		return
	}
	applyPatch(&in.Installation, p)
	s.enterLocked(in, provisioner.StateWakeUpRequested, s.nowLocked(), nil)
	writeJSON(w, http.StatusAccepted, in.json())
}

func (s *Sim) deleteInstallation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationFor(w, r)
	if in == nil {
		return
	}
	if in.DeletionLocked {
		fail(w, http.StatusForbidden, "installation %s is deletion locked", in.ID)
		return
	}
	// What never finished creating is deleted at once; the rest waits in
	// deletion-pending first.
	newState := provisioner.StateDeletionRequested
	if !provisioner.CanTransition(in.State, newState) {
		newState = provisioner.StateDeletionPendingRequested
	}
	if in = s.forTransition(w, r, newState); in == nil {
		return
	}
	now := s.nowLocked()
	if newState == provisioner.StateDeletionPendingRequested {
		in.DeletionPendingExpiry = provisioner.Millis(now.Add(s.opts.DeletionPendingTime))
	}
	s.enterLocked(in, newState, now, map[string]string{"actor_id": ""})
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) updateDeletion(w http.ResponseWriter, r *http.Request) {
	var p provisioner.PatchInstallationDeletionRequest
	if err := decodeBody(r, &p); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode patch installation deletion request: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if p.DeletionPendingExpiry != nil {
		if cutoff := provisioner.Millis(now.Add(-5 * time.Second)); *p.DeletionPendingExpiry < cutoff {
			fail(w, http.StatusBadRequest, "DeletionPendingExpiry must be %d or higher", cutoff)
			return
		}
	}
	in := s.forTransition(w, r, provisioner.StateDeletionPending)
	if in == nil {
		return
	}
	if p.DeletionPendingExpiry != nil && *p.DeletionPendingExpiry != in.DeletionPendingExpiry {
		in.DeletionPendingExpiry = *p.DeletionPendingExpiry
		s.changedLocked(in)
		s.scheduleLocked(in, now)
	}
	writeJSON(w, http.StatusOK, in.json())
}

func (s *Sim) cancelDeletion(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.forTransition(w, r, provisioner.StateDeletionCancellationRequested)
	if in == nil {
		return
	}
	in.ScheduledDeletionTime = 0
	s.enterLocked(in, provisioner.StateDeletionCancellationRequested, s.nowLocked(), nil)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) scheduleDeletion(w http.ResponseWriter, r *http.Request) {
	var p provisioner.PatchInstallationScheduledDeletionRequest
	// Unlike the other handlers, this one refuses an empty body.
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode request: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if p.ScheduledDeletionTime != nil {
		if t := *p.ScheduledDeletionTime; t < 0 || t != 0 && t <= provisioner.Millis(now) {
			fail(w, http.StatusBadRequest, "scheduled deletion time must be in the future")
			return
		}
	}
	in := s.installationFor(w, r)
	if in == nil {
		return
	}
	if in.APISecurityLock {
		fail(w, http.StatusForbidden, "installation %s is API locked", in.ID)
		return
	}
	if provisioner.IsDeletionState(in.State) {
		fail(w, http.StatusBadRequest, "installation is in a deletion state, cannot update scheduled deletion time")
		return
	}
	if p.ScheduledDeletionTime != nil {
		in.ScheduledDeletionTime = *p.ScheduledDeletionTime
		s.changedLocked(in)
		s.scheduleLocked(in, now)
	}
	writeJSON(w, http.StatusOK, in.json())
}

// lockedInstallation finds {id} and refuses API-locked installations.
func (s *Sim) lockedInstallation(w http.ResponseWriter, r *http.Request) *inst {
	in := s.installationFor(w, r)
	if in != nil && in.APISecurityLock {
		fail(w, http.StatusForbidden, "installation %s is API locked", in.ID)
		return nil
	}
	return in
}

func (s *Sim) addAnnotations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.lockedInstallation(w, r)
	if in == nil {
		return
	}
	var req struct {
		Annotations []string `json:"annotations"`
	}
	if err := decodeBody(r, &req); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode add annotations request: %v", err)
		return
	}
	for _, a := range req.Annotations {
		if err := provisioner.ValidAnnotation(a); err != nil {
			fail(w, http.StatusBadRequest, "failed to validate annotations: %v", err)
			return
		}
	}
	// The provisioner inserts the rows in one statement: no rows, or a row
	// the installation already has, fail the insert.
	if len(req.Annotations) == 0 {
		fail(w, http.StatusInternalServerError, "failed to create installation annotations: no annotations")
		return
	}
	all := append(in.AnnotationNames(), req.Annotations...)
	if dup := firstDuplicate(all); dup != "" {
		fail(w, http.StatusInternalServerError, "failed to create installation annotations: %q is already set", dup)
		return
	}
	for _, a := range req.Annotations {
		in.Annotations = append(in.Annotations, s.st.annotation(a))
	}
	s.changedLocked(in)
	writeJSON(w, http.StatusOK, in.json())
}

func (s *Sim) deleteAnnotation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.lockedInstallation(w, r)
	if in == nil {
		return
	}
	name := r.PathValue("name")
	in.Annotations = slices.DeleteFunc(in.Annotations, func(a *provisioner.Annotation) bool { return a.Name == name })
	if len(in.Annotations) == 0 {
		in.Annotations = nil
	}
	s.changedLocked(in)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) lockToggle(w http.ResponseWriter, r *http.Request) {
	var set func(in *inst)
	switch r.PathValue("kind") + "/" + r.PathValue("toggle") {
	case provisioner.LockAPI:
		set = func(in *inst) { in.APISecurityLock = true }
	case provisioner.UnlockAPI:
		set = func(in *inst) { in.APISecurityLock = false }
	case provisioner.LockDeletion:
		set = func(in *inst) { in.DeletionLocked = true }
	case provisioner.UnlockDeletion:
		set = func(in *inst) { in.DeletionLocked = false }
	default:
		notFoundRoute(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationFor(w, r)
	if in == nil {
		return
	}
	set(in)
	s.changedLocked(in)
	s.scheduleLocked(in, s.nowLocked()) // a deletion lock holds back a scheduled deletion
	w.WriteHeader(http.StatusOK)
}

// applyPatch applies a patch the way the provisioner does and reports
// whether anything changed.
func applyPatch(in *provisioner.Installation, p *provisioner.PatchInstallationRequest) bool {
	changed := false
	set := func(field *string, v *string) {
		if v != nil && *v != *field {
			*field = *v
			changed = true
		}
	}
	set(&in.OwnerID, p.OwnerID)
	set(&in.Version, p.Version)
	set(&in.Image, p.Image)
	set(&in.Size, p.Size)
	set(&in.License, p.License)
	if p.AllowedIPRanges != nil {
		changed = true
		if p.OverrideIPRanges != nil && *p.OverrideIPRanges || in.AllowedIPRanges == nil {
			ranges := slices.Clone(*p.AllowedIPRanges)
			in.AllowedIPRanges = &ranges
		} else {
			merged := slices.Clone(*in.AllowedIPRanges)
			for _, nr := range *p.AllowedIPRanges {
				i := slices.IndexFunc(merged, func(e provisioner.AllowedIPRange) bool { return e.CIDRBlock == nr.CIDRBlock })
				if i >= 0 {
					merged[i] = nr
				} else {
					merged = append(merged, nr)
				}
			}
			in.AllowedIPRanges = &merged
		}
	}
	if p.MattermostEnv != nil && clearOrPatch(&in.MattermostEnv, p.MattermostEnv) {
		changed = true
	}
	if p.PriorityEnv != nil && clearOrPatch(&in.PriorityEnv, p.PriorityEnv) {
		changed = true
	}
	if len(p.PodProbeOverrides) != 0 && string(p.PodProbeOverrides) != "null" {
		in.PodProbeOverrides = p.PodProbeOverrides
		changed = true
	}
	return changed
}

// clearOrPatch is the provisioner's env patch (model.EnvVarMap.ClearOrPatch
// in v0.92): variables are merged, never replaced as a whole. An empty map
// clears them all, an entry without a value removes that variable, others
// are set. An installation without variables takes the patch as it is,
// entries without a value included (they read back as "NAME": {}).
func clearOrPatch(current *provisioner.EnvVarMap, patch provisioner.EnvVarMap) bool {
	if *current == nil {
		if len(patch) == 0 {
			return false
		}
		*current = maps.Clone(patch)
		return true
	}
	if len(patch) == 0 {
		had := len(*current) != 0
		*current = nil
		return had
	}
	changed := false
	for k, v := range patch {
		old, ok := (*current)[k]
		switch {
		case !v.HasValue() && ok:
			delete(*current, k)
			changed = true
		case v.HasValue() && (!ok || old.Value != v.Value || string(old.ValueFrom) != string(v.ValueFrom)):
			(*current)[k] = v
			changed = true
		}
	}
	return changed
}
