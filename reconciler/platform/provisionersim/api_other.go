package provisionersim

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

func (s *Sim) listClusterInstallations(w http.ResponseWriter, r *http.Request) {
	p, err := parsePaging(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	cluster, installation := r.URL.Query().Get("cluster"), r.URL.Query().Get("installation")
	s.mu.RLock()
	var list []*provisioner.ClusterInstallation
	for _, ci := range s.st.ciOrder {
		if (p.includeDeleted || ci.DeleteAt == 0) && (cluster == "" || ci.ClusterID == cluster) &&
			(installation == "" || ci.InstallationID == installation) {
			list = append(list, ci)
		}
	}
	start, end := p.window(len(list))
	data := mustJSON(append([]*provisioner.ClusterInstallation{}, list[start:end]...))
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, data)
}

func (s *Sim) clusterInstallationFor(w http.ResponseWriter, r *http.Request) *provisioner.ClusterInstallation {
	return lookupByID(w, r, "cluster installation", func(id string) *provisioner.ClusterInstallation { return s.st.clusterInst[id] })
}

func (s *Sim) getClusterInstallation(w http.ResponseWriter, r *http.Request) {
	getByID(s, w, r, "cluster installation", func(id string) *provisioner.ClusterInstallation { return s.st.clusterInst[id] },
		func(ci *provisioner.ClusterInstallation) []byte { return mustJSON(ci) })
}

func (s *Sim) exec(w http.ResponseWriter, r *http.Request) {
	command := r.PathValue("command")
	if !slices.Contains(provisioner.ExecCommands, command) {
		fail(w, http.StatusBadRequest, "%s is not a permitted exec command", command)
		return
	}
	var args []string
	if err := decodeBody(r, &args); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode cluster installation exec request: %v", err)
		return
	}
	s.mu.Lock()
	ci := s.clusterInstallationFor(w, r)
	if ci == nil {
		s.mu.Unlock()
		return
	}
	if ci.DeleteAt != 0 {
		s.mu.Unlock()
		fail(w, http.StatusGone, "cluster installation is deleted")
		return
	}
	if ci.APISecurityLock {
		s.mu.Unlock()
		fail(w, http.StatusForbidden, "cluster installation is API locked")
		return
	}
	var installation provisioner.Installation
	if in := s.st.byID[ci.InstallationID]; in != nil {
		installation = cloneInstallation(&in.Installation)
	}
	s.st.execLog[ci.InstallationID] = append(s.st.execLog[ci.InstallationID], append([]string{command}, args...))
	s.mu.Unlock()

	var out []byte
	if s.opts.Exec != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
		defer cancel()
		var err error
		if out, err = s.opts.Exec(ctx, installation, command, args); err != nil {
			w.WriteHeader(http.StatusConflict)
			w.Write(out)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req provisioner.CreateWebhookRequest
	if err := decodeBody(r, &req); err != nil {
		fail(w, http.StatusBadRequest, "failed to decode create webhook request: %v", err)
		return
	}
	if err := req.Validate(); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.st.webhooks {
		if h.URL == req.URL && h.DeleteAt == 0 {
			// A unique index on (URL, DeleteAt) makes the provisioner fail.
			fail(w, http.StatusInternalServerError, "failed to create webhook: URL %s is already registered", req.URL)
			return
		}
	}
	hook := &provisioner.Webhook{
		ID: newID(), OwnerID: req.OwnerID, URL: req.URL,
		CreateAt: provisioner.Millis(s.nowLocked()), Headers: req.Headers,
	}
	s.st.webhooks = append(s.st.webhooks, hook)
	s.hooks.add(hook)
	s.dirty = true
	writeJSON(w, http.StatusAccepted, mustJSON(hook))
}

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request) {
	p, err := parsePaging(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	owner := r.URL.Query().Get("owner")
	s.mu.RLock()
	list := []*provisioner.Webhook{}
	for _, h := range s.st.webhooks {
		if (p.includeDeleted || h.DeleteAt == 0) && (owner == "" || h.OwnerID == owner) {
			list = append(list, h)
		}
	}
	start, end := p.window(len(list))
	data := mustJSON(list[start:end])
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, data)
}

func (s *Sim) findWebhook(id string) *provisioner.Webhook {
	for _, h := range s.st.webhooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func (s *Sim) getWebhook(w http.ResponseWriter, r *http.Request) {
	getByID(s, w, r, "webhook", s.findWebhook, func(h *provisioner.Webhook) []byte { return mustJSON(h) })
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := lookupByID(w, r, "webhook", s.findWebhook)
	if h == nil {
		return
	}
	if h.DeleteAt != 0 {
		fail(w, http.StatusBadRequest, "webhook %s is already deleted", h.ID)
		return
	}
	h.DeleteAt = provisioner.Millis(s.nowLocked())
	s.hooks.remove(h.ID)
	s.dirty = true
	w.WriteHeader(http.StatusOK)
}
