// Package localgithub is the GitHub REST API of envwick dev, answered in
// the process: the GitHub bot runs unchanged on it, with no token and no
// network. What the bot would post to GitHub (pull request comments, commit
// statuses, check runs, labels) is printed to a console, tagged by where it
// would go ("[github acme/app#12 comment]"), and kept, so `envwick try` can
// show it as the reply. What the bot reads (a pull request, a person's
// permission, its own comments) is answered from the webhooks the bot
// accepted and what it posted.
package localgithub

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"
)

// BaseURL is the API root the bot is given; requests to it never leave the
// process (see Transport).
const BaseURL = "http://github.local/"

// Permission is what every person may do on every repository here: the
// default lowest permission for /env commands.
const Permission = "write"

// Post is one thing the bot would have posted to GitHub.
type Post struct {
	Seq int `json:"seq"`
	// Where is "owner/repo#12" or "owner/repo@abc1234".
	Where string `json:"where"`
	// Kind is comment, comment edited, status, check run or labels.
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Tag is how a post is marked on the console.
func (p Post) Tag() string { return "[github " + p.Where + " " + p.Kind + "]" }

// Server is the local GitHub. It is safe for concurrent use.
type Server struct {
	out io.Writer
	mux *http.ServeMux

	mu       sync.Mutex
	nextID   int64
	pulls    map[string]*gh.PullRequest    // "owner/repo#n"
	comments map[string][]*gh.IssueComment // "owner/repo#n"
	where    map[int64]string              // comment ID -> "owner/repo#n"
	statuses map[string][]*gh.RepoStatus   // "owner/repo@sha", newest last
	posts    []Post
}

// keepPosts bounds the posts kept for Posts.
const keepPosts = 1000

// New returns a local GitHub printing what the bot posts to out.
func New(out io.Writer) *Server {
	s := &Server{out: out, mux: http.NewServeMux(), pulls: map[string]*gh.PullRequest{},
		comments: map[string][]*gh.IssueComment{}, where: map[int64]string{}, statuses: map[string][]*gh.RepoStatus{}}
	m := s.mux
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{n}", s.getPull)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	m.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", s.permission)
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{n}/comments", s.listComments)
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{n}/comments", s.createComment)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	m.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/statuses", s.listStatuses)
	m.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.checkRun)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.checkRun)
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{n}/labels", s.addLabels)
	m.HandleFunc("DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}", s.removeLabel)
	m.HandleFunc("POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", s.dispatch)
	m.HandleFunc("GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs", func(w http.ResponseWriter, _ *http.Request) {
		// No workflow runs here: dispatches are printed, not run.
		writeJSON(w, http.StatusOK, &gh.WorkflowRuns{TotalCount: gh.Int(0), WorkflowRuns: []*gh.WorkflowRun{}})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found: envwick dev's local GitHub does not serve "+r.Method+" "+r.URL.Path)
	})
	return s
}

// Transport serves the bot's requests in the process; give it to
// githubbot.Access with BaseURL.
func (s *Server) Transport() http.RoundTripper { return roundTripper{s} }

type roundTripper struct{ s *Server }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.s.mux.ServeHTTP(rec, r)
	if r.Body != nil {
		r.Body.Close()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// maxPayload bounds a webhook body read by Observe, as GitHub does.
const maxPayload = 25 << 20

// Observe wraps the bot's webhook handler: pull requests in the payloads
// the bot accepted are remembered, so that later reads of them (a comment
// command fetching its pull request) find them with their head and labels.
func (s *Server) Observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		if err != nil {
			http.Error(w, "reading payload", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusAccepted {
			s.learn(gh.WebHookType(r), body)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// learn remembers the pull request an accepted event is about.
func (s *Server) learn(eventType string, body []byte) {
	ev, err := gh.ParseWebHook(eventType, body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := ev.(type) {
	case *gh.PullRequestEvent:
		s.pulls[key(e.GetRepo().GetFullName(), e.GetPullRequest().GetNumber())] = e.GetPullRequest()
	case *gh.IssueCommentEvent:
		is := e.GetIssue()
		k := key(e.GetRepo().GetFullName(), is.GetNumber())
		if !is.IsPullRequest() || s.pulls[k] != nil {
			return
		}
		s.pulls[k] = PullRequestFromIssue(e.GetRepo(), is)
	}
}

// PullRequestFromIssue is a pull request as far as a comment event tells
// of it; its head is a stand-in derived from repository and number, the
// same every time.
func PullRequestFromIssue(repo *gh.Repository, is *gh.Issue) *gh.PullRequest {
	n := is.GetNumber()
	head := &gh.PullRequestBranch{Ref: gh.String(fmt.Sprintf("pr-%d", n)), SHA: gh.String(FakeSHA(repo.GetFullName(), n)), Repo: repo}
	return &gh.PullRequest{
		Number: gh.Int(n), Title: is.Title, State: is.State, User: is.User, Labels: is.Labels,
		HTMLURL: gh.String(is.GetPullRequestLinks().GetHTMLURL()),
		Head:    head, Base: &gh.PullRequestBranch{Ref: gh.String(repo.GetDefaultBranch()), Repo: repo},
	}
}

// FakeSHA is a stand-in commit of a pull request's head.
func FakeSHA(repo string, n int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "%s#%d", repo, n))
	return hex.EncodeToString(sum[:])
}

// Posts returns what was posted after seq (0: everything kept), oldest first.
func (s *Server) Posts(after int) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Post
	for _, p := range s.posts {
		if p.Seq > after {
			out = append(out, p)
		}
	}
	return out
}

// PostsHandler serves Posts as JSON (GET ?after=N), for `envwick try`.
// Posts hold what GitHub would show anyone: never a secret.
func (s *Server) PostsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Posts(after))
	})
}

// post records and prints one post. Called with mu held.
func (s *Server) post(where, kind, text string) {
	seq := 1
	if n := len(s.posts); n > 0 {
		seq = s.posts[n-1].Seq + 1
	}
	p := Post{Seq: seq, Where: where, Kind: kind, Text: text}
	if len(s.posts) >= keepPosts {
		s.posts = s.posts[1:]
	}
	s.posts = append(s.posts, p)
	fmt.Fprintln(s.out, Format(p))
}

// Format is a post as the console shows it: the tag, then the text with
// hidden markers dropped and later lines indented.
func Format(p Post) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(p.Text), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "<!--") && strings.HasSuffix(t, "-->") {
			continue
		}
		lines = append(lines, l)
	}
	return p.Tag() + " " + strings.Join(lines, "\n    ")
}

func key(repo string, n int) string { return repo + "#" + strconv.Itoa(n) }

func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

func issueKey(r *http.Request) (string, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	return key(repoOf(r), n), err == nil
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	k, _ := issueKey(r)
	s.mu.Lock()
	pr := s.pulls[k]
	s.mu.Unlock()
	if pr == nil {
		writeError(w, http.StatusNotFound, "Not Found: no pull request "+k+" was seen in a webhook")
		return
	}
	writeJSON(w, http.StatusOK, pr)
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	repo := repoOf(r)
	s.mu.Lock()
	out := []*gh.PullRequest{}
	for k, pr := range s.pulls {
		if strings.HasPrefix(k, repo+"#") && pr.GetState() != "closed" {
			out = append(out, pr)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) permission(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, &gh.RepositoryPermissionLevel{Permission: gh.String(Permission), User: &gh.User{Login: gh.String(r.PathValue("user"))}})
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	k, _ := issueKey(r)
	s.mu.Lock()
	out := append([]*gh.IssueComment{}, s.comments[k]...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	var in gh.IssueComment
	k, ok := issueKey(r)
	if !ok || !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	now := gh.Timestamp{Time: time.Now()}
	c := &gh.IssueComment{ID: gh.Int64(s.nextID), Body: in.Body, User: &gh.User{Login: gh.String("envwick[bot]")}, CreatedAt: &now, UpdatedAt: &now}
	s.comments[k] = append(s.comments[k], c)
	s.where[s.nextID] = k
	s.post(k, "comment", in.GetBody())
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	var in gh.IssueComment
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.where[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	for _, c := range s.comments[k] {
		if c.GetID() == id {
			c.Body = in.Body
			c.UpdatedAt = &gh.Timestamp{Time: time.Now()}
			s.post(k, "comment edited", in.GetBody())
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in gh.RepoStatus
	if !decode(w, r, &in) {
		return
	}
	sha := r.PathValue("sha")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	in.ID = gh.Int64(s.nextID)
	k := repoOf(r) + "@" + sha
	s.statuses[k] = append(s.statuses[k], &in)
	text := fmt.Sprintf("%s: %s %s", in.GetContext(), in.GetState(), in.GetDescription())
	if u := in.GetTargetURL(); u != "" {
		text += " " + u
	}
	s.post(repoOf(r)+"@"+short(sha), "status", text)
	writeJSON(w, http.StatusCreated, &in)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sts := s.statuses[repoOf(r)+"@"+r.PathValue("sha")]
	out := make([]*gh.RepoStatus, 0, len(sts))
	for i := len(sts) - 1; i >= 0; i-- { // GitHub lists newest first
		out = append(out, sts[i])
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) checkRun(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name       string `json:"name"`
		HeadSHA    string `json:"head_sha"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		Output     struct {
			Title string `json:"title"`
		} `json:"output"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if id == 0 {
		s.nextID++
		id = s.nextID
	}
	s.post(repoOf(r)+"@"+short(in.HeadSHA), "check run", strings.TrimSpace(fmt.Sprintf("%s: %s %s %s", in.Name, in.Status, in.Conclusion, in.Output.Title)))
	writeJSON(w, http.StatusCreated, &gh.CheckRun{ID: gh.Int64(id), Name: gh.String(in.Name), HeadSHA: gh.String(in.HeadSHA)})
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var names []string
	k, ok := issueKey(r)
	if !ok || !decode(w, r, &names) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var labels []*gh.Label
	if pr := s.pulls[k]; pr != nil {
		for _, n := range names {
			pr.Labels = append(pr.Labels, &gh.Label{Name: gh.String(n)})
		}
		labels = pr.Labels
	}
	s.post(k, "labels", "+"+strings.Join(names, ", +"))
	writeJSON(w, http.StatusOK, labels)
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	k, _ := issueKey(r)
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr := s.pulls[k]; pr != nil {
		kept := pr.Labels[:0]
		for _, l := range pr.Labels {
			if l.GetName() != name {
				kept = append(kept, l)
			}
		}
		pr.Labels = kept
	}
	s.post(k, "labels", "-"+name)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "[]")
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	var in gh.CreateWorkflowDispatchEventRequest
	if !decode(w, r, &in) {
		return
	}
	inputs, _ := json.Marshal(in.Inputs)
	s.mu.Lock()
	s.post(repoOf(r), "workflow "+r.PathValue("workflow"), fmt.Sprintf("dispatched on %s with inputs %s", in.Ref, inputs))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// maxBody bounds a request body from the bot.
const maxBody = 1 << 20

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
