package automation

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v57/github"
)

// signersServer serves a CSV signers list with an ETag, counting full
// answers.
type signersServer struct {
	mu    sync.Mutex
	csv   string
	full  int
	calls int
}

func (s *signersServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	etag := fmt.Sprintf(`"%x"`, len(s.csv)*31+strings.Count(s.csv, "\n"))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.full++
	w.Header().Set("ETag", etag)
	fmt.Fprint(w, s.csv)
}

func commitBy(sha, login string) *gh.RepositoryCommit {
	rc := &gh.RepositoryCommit{SHA: gh.String(sha), Commit: &gh.Commit{Author: &gh.CommitAuthor{Name: gh.String("Someone")}}}
	if login != "" {
		rc.Author = &gh.User{Login: gh.String(login), Type: gh.String("User")}
	}
	return rc
}

func TestCLA(t *testing.T) {
	signers := &signersServer{csv: "name,login\nMona,octocat\n"}
	srv := httptest.NewServer(signers)
	t.Cleanup(srv.Close)
	r := newRig(t, Repository{CLA: &CLA{SignersURL: srv.URL, SignURL: "https://cla.example.com/sign", Exempt: []string{"release-robot"}}})
	head := "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	r.gh.SetPull(testRepo, &gh.PullRequest{Number: gh.Int(2), State: gh.String("open"), Head: &gh.PullRequestBranch{SHA: gh.String(head)}})
	r.gh.SetCommits(testRepo, 2, commitBy("aaaaaaaa", "octocat"), commitBy("bbbbbbbb", "Codertocat"),
		commitBy("cccccccc", "release-robot"), commitBy("dddddddd", "dependabot[bot]"), commitBy("eeeeeeee", ""))

	opened := example(t, "pull_request.opened.0")
	opened.obj("pull_request", "head")["sha"] = head
	opened["number"] = 2
	opened.obj("pull_request")["number"] = 2
	r.send("pull_request", opened)
	st := r.gh.Statuses(testRepo, head)
	if len(st) != 1 || st[0].GetContext() != "cla" || st[0].GetState() != "failure" || st[0].GetTargetURL() != "https://cla.example.com/sign" {
		t.Fatalf("statuses %+v", st)
	}
	if !strings.Contains(st[0].GetDescription(), "@Codertocat") || strings.Contains(st[0].GetDescription(), "octocat,") {
		t.Fatalf("description %q", st[0].GetDescription())
	}
	body := r.lastComment(2)
	if !strings.Contains(body, "@Codertocat has not signed") || !strings.Contains(body, "`eeeeeee` by Someone is not linked") || strings.Contains(body, "release-robot") || strings.Contains(body, "dependabot") {
		t.Fatalf("comment %q", body)
	}

	// Codertocat signs and the unlinked commit is rewritten: /check-cla
	// re-reads the list (it changed) and edits the one comment.
	signers.mu.Lock()
	signers.csv += "Coder,Codertocat\n"
	signers.mu.Unlock()
	r.gh.SetCommits(testRepo, 2, commitBy("aaaaaaaa", "octocat"), commitBy("bbbbbbbb", "Codertocat"))
	r.send("issue_comment", comment(t, 2, "octocat", "/check-cla"))
	st = r.gh.Statuses(testRepo, head)
	if last := st[len(st)-1]; last.GetState() != "success" {
		t.Fatalf("after signing: %+v", last)
	}
	if cs := r.comments(2); len(cs) != 1 || !strings.Contains(cs[0], "signed the CLA now") {
		t.Fatalf("comments %q, want the one comment edited", cs)
	}
	// A synchronize reads the list conditionally: unchanged, not re-sent.
	sync := example(t, "pull_request.synchronize.0")
	sync["number"] = 2
	sync.obj("pull_request")["number"] = 2
	sync.obj("pull_request", "head")["sha"] = head
	r.send("pull_request", sync)
	if signers.full != 2 || signers.calls != 3 {
		t.Fatalf("signers list read in full %d times of %d, want 2 of 3", signers.full, signers.calls)
	}
}

func TestCLASignersFromGit(t *testing.T) {
	r := newRig(t, Repository{})
	g := r.newGitRepo("signers", map[string]string{"cla/signers.json": `["octocat", {"login": "Hubot"}]`})
	c := newCLA(r.auto.api, http.DefaultClient, &gitRunner{token: gitToken}, testLogger())
	f := &GitFile{URL: g.url, Path: "cla/signers.json"}
	got, err := c.signers(t.Context(), &CLA{SignersGit: f})
	if err != nil || !got["octocat"] || !got["hubot"] || len(got) != 2 {
		t.Fatalf("signers %v, %v", got, err)
	}
	g.commit("main", "Add a signer", map[string]string{"cla/signers.json": `["octocat", "hubot", "mona"]`})
	if got, err = c.signers(t.Context(), &CLA{SignersGit: f}); err != nil || !got["mona"] {
		t.Fatalf("after a push: %v, %v", got, err)
	}
}

func TestParseSigners(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "octocat\nhubot\n", want: []string{"octocat", "hubot"}},
		{in: "Name,GitHub\nMona,@Octocat\n", want: []string{"octocat"}},
		{in: `["a", {"github": "b"}]`, want: []string{"a", "b"}},
		{in: `[1]`, bad: true},
		{in: "a,\"b\n", bad: true},
	} {
		got, err := parseSigners([]byte(tc.in))
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("%q: %v lacks %s", tc.in, got, w)
			}
		}
	}
}
