// Package fakegithub is a stateful fake of the GitHub REST endpoints the
// envwick GitHub bot uses, served over HTTP on loopback so that go-github
// talks to it exactly as to api.github.com: issue comments (list, create,
// edit), commit statuses (create, list), check runs (create, update, list),
// pull requests (get, list with ETag and 304, create, commits), issue labels
// (list, add, remove), milestones (get), collaborator permission, Actions
// workflows (dispatch, runs, cancel; see actions.go), and app installation
// tokens. Every response carries rate-limit headers, and rate limiting
// (primary, secondary, 429) can be injected.
package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"
)

// Limit is a kind of rate limiting to inject.
type Limit int

const (
	// Primary: 403 with X-RateLimit-Remaining: 0 and a reset time.
	Primary Limit = iota
	// Secondary: 403 with Retry-After and the secondary limit message.
	Secondary
	// TooMany: 429 with Retry-After.
	TooMany
)

// Request is one request the fake served.
type Request struct {
	Method string
	Path   string
	Auth   string
	// Status is the HTTP status the fake answered.
	Status int
}

// Server is the fake. Create it with New; it stops with the test.
type Server struct {
	*httptest.Server

	mu           sync.Mutex
	nextID       int64
	comments     map[string][]*gh.IssueComment // "owner/repo" -> comments
	commentIssue map[int64]int                 // comment ID -> issue number
	statuses     map[string][]*gh.RepoStatus   // "owner/repo@sha" -> newest last
	checkRuns    map[string][]*gh.CheckRun     // "owner/repo" -> runs
	pulls        map[string]*gh.PullRequest    // "owner/repo#n"
	permissions  map[string]string             // "owner/repo:user" -> admin|maintain|write|triage|read|none
	limits       []Limit
	retryAfter   time.Duration
	requests     []Request
	remaining    int
	installs     map[string]int64                  // "owner/repo" -> installation ID
	files        map[string][]*gh.CommitFile       // "owner/repo#n" -> changed files
	contents     map[string]string                 // "owner/repo@ref:path" -> content
	commits      map[string][]*gh.RepositoryCommit // "owner/repo#n" -> the pull request's commits
	workflows    map[string]string                 // "owner/repo/file" -> run-name
	runs         map[string][]*gh.WorkflowRun      // "owner/repo" -> runs, oldest first
	runFile      map[int64]string                  // run ID -> workflow file
	dispatches   []Dispatch
}

// New starts a fake on 127.0.0.1 on a free port.
func New() *Server {
	s := &Server{
		comments:     map[string][]*gh.IssueComment{},
		commentIssue: map[int64]int{},
		statuses:     map[string][]*gh.RepoStatus{},
		checkRuns:    map[string][]*gh.CheckRun{},
		pulls:        map[string]*gh.PullRequest{},
		permissions:  map[string]string{},
		retryAfter:   time.Second,
		remaining:    5000,
		installs:     map[string]int64{},
		files:        map[string][]*gh.CommitFile{},
		contents:     map[string]string{},
		commits:      map[string][]*gh.RepositoryCommit{},
		workflows:    map[string]string{},
		runs:         map[string][]*gh.WorkflowRun{},
		runFile:      map[int64]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", s.listComments)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	mux.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/statuses", s.listStatuses)
	mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.createCheckRun)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.updateCheckRun)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/check-runs", s.listCheckRuns)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/labels", s.listLabels)
	mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", s.getPermission)
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.installationToken)
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", s.repoInstallation)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/files", s.listFiles)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.getContents)
	s.pullRoutes(mux)
	s.actionRoutes(mux)
	s.Server = httptest.NewServer(s.limited(mux))
	return s
}

// BaseURL is what to give go-github as its base URL.
func (s *Server) BaseURL() string { return s.URL + "/" }

// SetPull stores a pull request, as GitHub would know it.
func (s *Server) SetPull(repo string, pr *gh.PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls[repo+"#"+strconv.Itoa(pr.GetNumber())] = pr
}

// SetPermission sets a user's permission on a repository.
func (s *Server) SetPermission(repo, user, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.permissions[repo+":"+user] = permission
}

// SetFiles sets the files a pull request changes (filename and status:
// added, modified, removed, renamed).
func (s *Server) SetFiles(repo string, number int, files ...*gh.CommitFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[repo+"#"+strconv.Itoa(number)] = files
}

// SetContent sets a file's content at a ref (a commit SHA or branch).
func (s *Server) SetContent(repo, ref, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contents[repo+"@"+ref+":"+path] = content
}

// SetInstallation says which app installation serves repo.
func (s *Server) SetInstallation(repo string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installs[repo] = id
}

// InjectLimits makes the next requests fail with these rate limits, one
// each, telling clients to retry after d.
func (s *Server) InjectLimits(d time.Duration, limits ...Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
	s.limits = append(s.limits, limits...)
}

// Comments returns the comments on an issue or pull request, oldest first.
func (s *Server) Comments(repo string, number int) []*gh.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*gh.IssueComment
	for _, c := range s.comments[repo] {
		if s.commentIssue[c.GetID()] == number {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out
}

// AddComment stores a comment by a person (login), as when someone
// comments on GitHub; it returns the comment's ID.
func (s *Server) AddComment(repo string, number int, login, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := gh.Timestamp{Time: time.Now().UTC()}
	c := &gh.IssueComment{ID: gh.Int64(s.id()), Body: gh.String(body), CreatedAt: &now, UpdatedAt: &now,
		User: &gh.User{Login: gh.String(login), Type: gh.String("User")}}
	s.comments[repo] = append(s.comments[repo], c)
	s.commentIssue[c.GetID()] = number
	s.touch(repo, number)
	return c.GetID()
}

// Statuses returns the statuses posted for a commit, oldest first.
func (s *Server) Statuses(repo, sha string) []*gh.RepoStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses[repo+"@"+sha])
}

// CheckRuns returns the check runs of a repository, in creation order.
func (s *Server) CheckRuns(repo string) []*gh.CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checkRuns[repo])
}

// Requests returns every request served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		w = rec
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")})
		at := len(s.requests) - 1
		defer func() {
			s.mu.Lock()
			s.requests[at].Status = rec.code
			s.mu.Unlock()
		}()
		var limit *Limit
		if len(s.limits) > 0 {
			l := s.limits[0]
			s.limits = s.limits[1:]
			limit = &l
		}
		wait := s.retryAfter
		if s.remaining > 0 {
			s.remaining--
		}
		remaining := s.remaining
		s.mu.Unlock()

		h := w.Header()
		reset := time.Now().Add(wait)
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if limit == nil {
			h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			next.ServeHTTP(w, r)
			return
		}
		secs := strconv.Itoa(int((wait + time.Second - 1) / time.Second))
		switch *limit {
		case Primary:
			// GitHub's reset is whole seconds; round up so that waiting
			// until it really is long enough.
			h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Add(time.Second-1).Unix(), 10))
			h.Set("X-RateLimit-Remaining", "0")
			writeError(w, http.StatusForbidden, "API rate limit exceeded for installation ID 1.")
		case Secondary:
			h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			h.Set("Retry-After", secs)
			writeError(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
		case TooMany:
			h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			h.Set("Retry-After", secs)
			writeError(w, http.StatusTooManyRequests, "Too many requests")
		}
	})
}

// statusRecorder keeps the status a handler answered, for Requests.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

func intValue(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return 0, false
	}
	return n, true
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func (s *Server) id() int64 { s.nextID++; return s.nextID }

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	all := s.Comments(repoOf(r), int(n))
	writeJSON(w, http.StatusOK, pageOf(s, w, r, all))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	var in gh.IssueComment
	if !decode(w, r, &in) {
		return
	}
	if in.GetBody() == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: body is missing")
		return
	}
	s.mu.Lock()
	now := gh.Timestamp{Time: time.Now().UTC()}
	c := &gh.IssueComment{ID: gh.Int64(s.id()), Body: in.Body, CreatedAt: &now, UpdatedAt: &now,
		User: &gh.User{Login: gh.String("envwick[bot]"), Type: gh.String("Bot")}}
	repo := repoOf(r)
	s.comments[repo] = append(s.comments[repo], c)
	s.commentIssue[c.GetID()] = int(n)
	s.touch(repo, int(n))
	out := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	id, in, ok := idAndBody[gh.IssueComment](w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments[repoOf(r)] {
		if c.GetID() == id {
			c.Body = in.Body
			c.UpdatedAt = &gh.Timestamp{Time: time.Now().UTC()}
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// idAndBody reads a request for an object by ID with a JSON body.
func idAndBody[T any](w http.ResponseWriter, r *http.Request) (int64, T, bool) {
	var in T
	id, ok := intValue(w, r, "id")
	return id, in, ok && decode(w, r, &in)
}

var statusStates = []string{"error", "failure", "pending", "success"}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in gh.RepoStatus
	if !decode(w, r, &in) {
		return
	}
	if !slices.Contains(statusStates, in.GetState()) {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: state")
		return
	}
	if len(in.GetDescription()) > 140 {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	s.mu.Lock()
	now := gh.Timestamp{Time: time.Now().UTC()}
	st := &gh.RepoStatus{ID: gh.Int64(s.id()), State: in.State, TargetURL: in.TargetURL,
		Description: in.Description, Context: in.Context, CreatedAt: &now, UpdatedAt: &now}
	key := repoOf(r) + "@" + r.PathValue("sha")
	s.statuses[key] = append(s.statuses[key], st)
	out := *st
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	all := s.Statuses(repoOf(r), r.PathValue("sha"))
	slices.Reverse(all) // GitHub lists newest first
	writeJSON(w, http.StatusOK, all)
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	var in gh.CreateCheckRunOptions
	if !decode(w, r, &in) {
		return
	}
	if in.Name == "" || in.HeadSHA == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: name and head_sha are required")
		return
	}
	s.mu.Lock()
	cr := &gh.CheckRun{ID: gh.Int64(s.id()), Name: gh.String(in.Name), HeadSHA: gh.String(in.HeadSHA),
		Status: in.Status, Conclusion: in.Conclusion, Output: in.Output, DetailsURL: in.DetailsURL}
	repo := repoOf(r)
	s.checkRuns[repo] = append(s.checkRuns[repo], cr)
	out := *cr
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	id, in, ok := idAndBody[gh.UpdateCheckRunOptions](w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cr := range s.checkRuns[repoOf(r)] {
		if cr.GetID() == id {
			if in.Status != nil {
				cr.Status = in.Status
			}
			if in.Conclusion != nil {
				cr.Conclusion = in.Conclusion
			}
			if in.Output != nil {
				cr.Output = in.Output
			}
			writeJSON(w, http.StatusOK, cr)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request) {
	var runs []*gh.CheckRun
	for _, cr := range s.CheckRuns(repoOf(r)) {
		if cr.GetHeadSHA() == r.PathValue("sha") && (r.URL.Query().Get("check_name") == "" || cr.GetName() == r.URL.Query().Get("check_name")) {
			runs = append(runs, cr)
		}
	}
	writeJSON(w, http.StatusOK, gh.ListCheckRunsResults{Total: gh.Int(len(runs)), CheckRuns: runs})
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	if pr, ok := s.pull(w, r); ok {
		writeJSON(w, http.StatusOK, pr)
	}
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	if pr, ok := s.pull(w, r); ok {
		writeJSON(w, http.StatusOK, pr.Labels)
	}
}

// pull finds the pull request a request names, answering 404 when there is
// none.
func (s *Server) pull(w http.ResponseWriter, r *http.Request) (*gh.PullRequest, bool) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	pr, found := s.pulls[repoOf(r)+"#"+strconv.FormatInt(n, 10)]
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return pr, found
}

func (s *Server) getPermission(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	s.mu.Lock()
	p, ok := s.permissions[repoOf(r)+":"+user]
	s.mu.Unlock()
	if !ok {
		// GitHub answers "none" for users who are not collaborators.
		p = "none"
	}
	writeJSON(w, http.StatusOK, gh.RepositoryPermissionLevel{Permission: gh.String(p), User: &gh.User{Login: gh.String(user)}})
}

func (s *Server) installationToken(w http.ResponseWriter, r *http.Request) {
	if !appAuthenticated(w, r) {
		return
	}
	id := r.PathValue("id")
	expires := gh.Timestamp{Time: time.Now().Add(time.Hour).UTC()}
	writeJSON(w, http.StatusCreated, gh.InstallationToken{Token: gh.String("ghs_installation_" + id), ExpiresAt: &expires})
}

func (s *Server) repoInstallation(w http.ResponseWriter, r *http.Request) {
	if !appAuthenticated(w, r) {
		return
	}
	s.mu.Lock()
	id, ok := s.installs[repoOf(r)]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, gh.Installation{ID: gh.Int64(id)})
}

// appAuthenticated reports whether a request to an app endpoint carries a
// bearer token (a JWT), answering 401 when it does not.
func appAuthenticated(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	return true
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	s.mu.Lock()
	files := s.files[repoOf(r)+"#"+strconv.FormatInt(n, 10)]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, files)
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	s.mu.Lock()
	c, ok := s.contents[repoOf(r)+"@"+r.URL.Query().Get("ref")+":"+p]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, gh.RepositoryContent{
		Type: gh.String("file"), Path: gh.String(p), Name: gh.String(path.Base(p)),
		Encoding: gh.String("base64"), Content: gh.String(base64.StdEncoding.EncodeToString([]byte(c))),
		Size: gh.Int(len(c)),
	})
}
