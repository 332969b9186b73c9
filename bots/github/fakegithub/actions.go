package fakegithub

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"
)

// Dispatch is one workflow_dispatch the fake received.
type Dispatch struct {
	Repo     string
	Workflow string
	Ref      string
	Inputs   map[string]any
	// RunID is the run the dispatch started.
	RunID int64
}

func (s *Server) actionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", s.dispatch)
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs", s.listRuns)
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/runs/{id}", s.getRun)
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/runs/{id}/cancel", s.cancelRun)
}

// SetWorkflow declares a workflow file (such as "e2e.yml") of repo that
// accepts workflow_dispatch. runName is its run-name: "${{ inputs.X }}" in
// it is replaced by the dispatch's input X, as GitHub evaluates it into the
// run's display title.
func (s *Server) SetWorkflow(repo, file, runName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workflows[repo+"/"+file] = runName
}

// Dispatches returns the workflow dispatches received, oldest first.
func (s *Server) Dispatches() []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dispatches)
}

// Run returns a workflow run as the fake knows it now.
func (s *Server) Run(repo string, id int64) (*gh.WorkflowRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, run := range s.runs[repo] {
		if run.GetID() == id {
			cp := *run
			return &cp, true
		}
	}
	return nil, false
}

var inputExpr = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	var in gh.CreateWorkflowDispatchEventRequest
	if !decode(w, r, &in) {
		return
	}
	repo, file := repoOf(r), r.PathValue("workflow")
	s.mu.Lock()
	defer s.mu.Unlock()
	runName, ok := s.workflows[repo+"/"+file]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if in.Ref == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: ref is required")
		return
	}
	title := inputExpr.ReplaceAllStringFunc(runName, func(m string) string {
		return fmt.Sprint(in.Inputs[inputExpr.FindStringSubmatch(m)[1]])
	})
	now := gh.Timestamp{Time: time.Now().UTC()}
	id := s.id()
	run := &gh.WorkflowRun{
		ID: gh.Int64(id), Name: gh.String(strings.TrimSuffix(file, ".yml")), DisplayTitle: gh.String(title),
		HeadBranch: gh.String(in.Ref), Event: gh.String("workflow_dispatch"), Status: gh.String("queued"),
		HTMLURL:   gh.String(fmt.Sprintf("https://github.com/%s/actions/runs/%d", repo, id)),
		CreatedAt: &now, UpdatedAt: &now,
	}
	s.runs[repo] = append(s.runs[repo], run)
	s.runFile[id] = file
	s.dispatches = append(s.dispatches, Dispatch{Repo: repo, Workflow: file, Ref: in.Ref, Inputs: in.Inputs, RunID: id})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	repo, file := repoOf(r), r.PathValue("workflow")
	q := r.URL.Query()
	s.mu.Lock()
	var runs []*gh.WorkflowRun
	for _, run := range s.runs[repo] {
		if s.runFile[run.GetID()] == file &&
			(q.Get("status") == "" || run.GetStatus() == q.Get("status")) &&
			(q.Get("event") == "" || run.GetEvent() == q.Get("event")) {
			cp := *run
			runs = append(runs, &cp)
		}
	}
	s.mu.Unlock()
	slices.Reverse(runs) // newest first
	writeJSON(w, http.StatusOK, gh.WorkflowRuns{TotalCount: gh.Int(len(runs)), WorkflowRuns: runs})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id, ok := intValue(w, r, "id")
	if !ok {
		return
	}
	run, found := s.Run(repoOf(r), id)
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// cancelRun cancels a run that has not completed; GitHub answers 409 for
// one that has.
func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id, ok := intValue(w, r, "id")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, run := range s.runs[repoOf(r)] {
		if run.GetID() != id {
			continue
		}
		if run.GetStatus() == "completed" {
			writeError(w, http.StatusConflict, "Cannot cancel a workflow run that is completed.")
			return
		}
		run.Status, run.Conclusion = gh.String("completed"), gh.String("cancelled")
		writeJSON(w, http.StatusAccepted, map[string]any{})
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}
