package fakegithub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"
)

// Stored pull requests are never changed in place: a change stores a copy,
// so that a response being encoded outside the lock reads a consistent one.

func (s *Server) pullRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.createPull)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/commits", s.listPullCommits)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	mux.HandleFunc("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", s.removeLabel)
	mux.HandleFunc("GET /repos/{owner}/{repo}/milestones/{number}", s.getMilestone)
}

// Pull returns a pull request as the fake knows it now.
func (s *Server) Pull(repo string, number int) (*gh.PullRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.pulls[repo+"#"+strconv.Itoa(number)]
	return pr, ok
}

// Pulls returns every pull request of repo, lowest number first.
func (s *Server) Pulls(repo string) []*gh.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pullsOf(repo)
}

func (s *Server) pullsOf(repo string) []*gh.PullRequest {
	var out []*gh.PullRequest
	for k, pr := range s.pulls {
		if strings.HasPrefix(k, repo+"#") {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b *gh.PullRequest) int { return a.GetNumber() - b.GetNumber() })
	return out
}

// SetCommits sets the commits of a pull request, oldest first.
func (s *Server) SetCommits(repo string, number int, commits ...*gh.RepositoryCommit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits[repo+"#"+strconv.Itoa(number)] = commits
}

// Labels returns the names of the labels on a pull request.
func (s *Server) Labels(repo string, number int) []string {
	pr, _ := s.Pull(repo, number)
	var out []string
	for _, l := range pr.Labels {
		out = append(out, l.GetName())
	}
	return out
}

// touch marks a pull request updated now, as GitHub does on any comment,
// label or push. Called with s.mu held.
func (s *Server) touch(repo string, number int) {
	s.change(repo, number, func(*gh.PullRequest) {})
}

// change stores a changed copy of a pull request, its updated_at now.
// Called with s.mu held.
func (s *Server) change(repo string, number int, fn func(*gh.PullRequest)) bool {
	key := repo + "#" + strconv.Itoa(number)
	old, ok := s.pulls[key]
	if !ok {
		return false
	}
	pr := *old
	pr.Labels = slices.Clone(old.Labels)
	pr.UpdatedAt = &gh.Timestamp{Time: time.Now().UTC()}
	fn(&pr)
	s.pulls[key] = &pr
	return true
}

// listPulls lists pull requests newest first (GitHub's default order),
// filtered by state, base and head ("owner:branch"), paginated, with an
// ETag: a request whose If-None-Match matches gets 304 and no body, as
// GitHub answers conditional requests (which cost no rate limit there).
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	all := s.Pulls(repoOf(r))
	slices.Reverse(all)
	all = slices.DeleteFunc(all, func(pr *gh.PullRequest) bool {
		if state != "all" && pr.GetState() != state {
			return true
		}
		if b := q.Get("base"); b != "" && pr.GetBase().GetRef() != b {
			return true
		}
		if h := q.Get("head"); h != "" {
			owner, branch, _ := strings.Cut(h, ":")
			return pr.GetHead().GetRef() != branch || !strings.EqualFold(pr.GetHead().GetUser().GetLogin(), owner)
		}
		return false
	})
	body, err := json.Marshal(pageOf(s, w, r, all))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

// paging reads page and per_page as GitHub does: per_page 30 by default,
// at most 100.
func paging(r *http.Request) (page, per int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	per, _ = strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	return max(page, 1), per
}

// pageOf returns the page of all a request asks for, setting the Link
// header to the next page when there is one.
func pageOf[T any](s *Server, w http.ResponseWriter, r *http.Request, all []T) []T {
	page, per := paging(r)
	from := min((page-1)*per, len(all))
	to := min(from+per, len(all))
	if to < len(all) {
		s.nextLink(w, r, page, per)
	}
	return all[from:to]
}

func (s *Server) nextLink(w http.ResponseWriter, r *http.Request, page, per int) {
	next := *r.URL
	q := next.Query()
	q.Set("page", strconv.Itoa(page+1))
	q.Set("per_page", strconv.Itoa(per))
	next.RawQuery = q.Encode()
	w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.String()))
}

// createPull opens a pull request. Like GitHub, it refuses a second open
// pull request from the same head into the same base.
func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var in gh.NewPullRequest
	if !decode(w, r, &in) {
		return
	}
	if in.GetTitle() == "" || in.GetHead() == "" || in.GetBase() == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: title, head and base are required")
		return
	}
	repo := repoOf(r)
	owner, branch, ok := strings.Cut(in.GetHead(), ":")
	if !ok {
		owner, branch = r.PathValue("owner"), in.GetHead()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	number := 1
	for _, pr := range s.pullsOf(repo) {
		if pr.GetState() == "open" && pr.GetHead().GetRef() == branch && pr.GetBase().GetRef() == in.GetBase() {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed: A pull request already exists for "+in.GetHead()+".")
			return
		}
		number = max(number, pr.GetNumber()+1)
	}
	now := gh.Timestamp{Time: time.Now().UTC()}
	pr := &gh.PullRequest{
		ID: gh.Int64(s.id()), Number: gh.Int(number), State: gh.String("open"),
		Title: in.Title, Body: in.Body, Draft: in.Draft, MaintainerCanModify: in.MaintainerCanModify,
		HTMLURL:   gh.String(fmt.Sprintf("https://github.com/%s/pull/%d", repo, number)),
		User:      &gh.User{Login: gh.String("envwick[bot]"), Type: gh.String("Bot")},
		Head:      &gh.PullRequestBranch{Ref: gh.String(branch), User: &gh.User{Login: gh.String(owner)}, Repo: &gh.Repository{FullName: gh.String(owner + "/" + r.PathValue("repo"))}},
		Base:      &gh.PullRequestBranch{Ref: in.Base, Repo: &gh.Repository{FullName: gh.String(repo)}},
		CreatedAt: &now, UpdatedAt: &now,
	}
	s.pulls[repo+"#"+strconv.Itoa(number)] = pr
	writeJSON(w, http.StatusCreated, pr)
}

func (s *Server) listPullCommits(w http.ResponseWriter, r *http.Request) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	s.mu.Lock()
	all := slices.Clone(s.commits[repoOf(r)+"#"+strconv.FormatInt(n, 10)])
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pageOf(s, w, r, all))
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var names []string
	if !decode(w, r, &names) {
		return
	}
	s.editLabels(w, r, func(labels []*gh.Label) ([]*gh.Label, bool) {
		for _, name := range names {
			if !slices.ContainsFunc(labels, func(l *gh.Label) bool { return l.GetName() == name }) {
				labels = append(labels, &gh.Label{ID: gh.Int64(s.id()), Name: gh.String(name)})
			}
		}
		return labels, true
	})
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.editLabels(w, r, func(labels []*gh.Label) ([]*gh.Label, bool) {
		before := len(labels)
		labels = slices.DeleteFunc(labels, func(l *gh.Label) bool { return l.GetName() == name })
		return labels, len(labels) < before
	})
}

// editLabels changes the labels of the pull request a request names and
// answers with them; 404 when there is no such pull request or fn reports
// no such label.
func (s *Server) editLabels(w http.ResponseWriter, r *http.Request, fn func([]*gh.Label) ([]*gh.Label, bool)) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	s.mu.Lock()
	var labels []*gh.Label
	found := false
	s.change(repoOf(r), int(n), func(pr *gh.PullRequest) {
		pr.Labels, found = fn(pr.Labels)
		labels = pr.Labels
	})
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, labels)
}

// getMilestone answers from the milestones the stored pull requests carry.
func (s *Server) getMilestone(w http.ResponseWriter, r *http.Request) {
	n, ok := intValue(w, r, "number")
	if !ok {
		return
	}
	for _, pr := range s.Pulls(repoOf(r)) {
		if m := pr.GetMilestone(); m != nil && int64(m.GetNumber()) == n {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}
