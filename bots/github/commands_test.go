package githubbot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// statusTable answers /env status from a map.
type statusTable map[string]envs.EnvironmentStatus

func (s statusTable) EnvironmentStatus(_ context.Context, name string) (envs.EnvironmentStatus, bool, error) {
	st, ok := s[name]
	return st, ok, nil
}

func TestParseCommand(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, tc := range []struct {
		line string
		// every substring must be in the error
		wantErr []string
		check   func(t *testing.T, s *envSpec, in *command.Input)
	}{
		{line: "/env create", check: func(t *testing.T, s *envSpec, in *command.Input) {
			if s.Name != "create" || in.String("size") != "" || in.List("env") != nil || len(serverMutations(in)) != 0 {
				t.Errorf("got %s %v", s.Name, in.Set())
			}
		}},
		{line: "/env create --size miniHA --env MM_A=1 --env MM_B= --env MM_C=a,b", check: func(t *testing.T, s *envSpec, in *command.Input) {
			if in.String("size") != "miniHA" || !slices.Equal(in.List("env"), []string{"MM_A=1", "MM_B=", "MM_C=a,b"}) || len(serverMutations(in)) != 2 {
				t.Errorf("got %v %v", in.String("size"), in.List("env"))
			}
		}},
		{line: "/env extend 3d", check: func(t *testing.T, s *envSpec, in *command.Input) {
			if s.Name != "extend" || in.Duration("DURATION") != 72*time.Hour {
				t.Errorf("got %s %v", s.Name, in.Duration("DURATION"))
			}
		}},
		{line: "/env help extend", check: func(t *testing.T, s *envSpec, in *command.Input) {
			if s.Name != "help" || in.Arg("SUBCOMMAND") != "extend" {
				t.Errorf("got %s %q", s.Name, in.Arg("SUBCOMMAND"))
			}
		}},
		{line: "/env update --help", check: func(t *testing.T, s *envSpec, in *command.Input) {
			if s.Name != "help" || in.Arg("SUBCOMMAND") != "update" {
				t.Errorf("got %s %q", s.Name, in.Arg("SUBCOMMAND"))
			}
		}},
		{line: "/env", wantErr: []string{"`/env` needs a subcommand: create, update, delete, extend, retry, status, help."}},
		{line: "/env destroy", wantErr: []string{`Unknown subcommand "destroy". Valid subcommands: create, update, delete, extend, retry, status, help.`, "- `/env create"}},
		{line: "/env create --colour red", wantErr: []string{"`/env create`: Unknown flag: --colour; valid flags: --size, --env.", "`/env create [--size SIZE] [--env KEY=VALUE]...`"}},
		{line: "/env create -colour red", wantErr: []string{"`/env create`: Unknown shorthand flag: 'c' in -colour"}},
		{line: "/env create --size huge", wantErr: []string{"`/env create`: Invalid size \"huge\"; valid sizes: miniSingleton"}},
		{line: "/env update --env NOEQUALS", wantErr: []string{"`/env update`: Invalid --env \"NOEQUALS\": want KEY=VALUE"}},
		{line: "/env update --env =x", wantErr: []string{"want KEY=VALUE"}},
		{line: "/env extend", wantErr: []string{"`/env extend`: Missing DURATION.", "`/env extend DURATION`"}},
		{line: "/env extend 1d 2d", wantErr: []string{"`/env extend`: Unexpected argument \"2d\"."}},
		{line: "/env extend soon", wantErr: []string{"`/env extend`: Invalid duration \"soon\": use forms like"}},
		{line: "/env extend 0s", wantErr: []string{"`/env extend`: The duration must be longer than zero"}},
		{line: "/env delete now", wantErr: []string{"`/env delete`: Unexpected argument \"now\".", "`/env delete`: destroy the test server."}},
		{line: "/env help frob", wantErr: []string{`Unknown subcommand "frob"`}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, in, err := r.bot.parseCommand(tc.line)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("parsed as %s, want an error", s.Name)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s, in)
		})
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	r := newRig(t, rigOptions{})
	help := r.bot.Help()
	for _, s := range r.bot.commands.Specs() {
		if !strings.Contains(help, "`/env "+s.Name) {
			t.Errorf("help misses %s:\n%s", s.Name, help)
		}
	}
	for label := range DefaultTemplates() {
		if !strings.Contains(help, label) {
			t.Errorf("help misses label %q", label)
		}
	}
}

func TestCommentCommands(t *testing.T) {
	const number = 7
	prName := EnvironmentName(repoName, number)
	path := "environments/" + prName + ".yaml"
	policy := commit.Policy{DefaultTTL: 7 * 24 * time.Hour, MaxExtension: 7 * 24 * time.Hour, MaxLifetime: 14 * 24 * time.Hour}
	statuses := statusTable{prName: {
		Installation: &envs.InstallationStatus{State: "stable", URL: "https://hello-world-pr-7.test.mattermost.cloud", Version: headSHA},
	}}
	r := newRig(t, rigOptions{policy: policy, status: statuses})
	r.gh.SetPull(repoName, &gh.PullRequest{
		Number: gh.Int(number), State: gh.String("open"),
		HTMLURL: gh.String("https://github.com/Codertocat/Hello-World/pull/7"),
		User:    &gh.User{Login: gh.String("octocat"), ID: gh.Int64(583231)},
		Head:    &gh.PullRequestBranch{SHA: gh.String(headSHA), Repo: &gh.Repository{FullName: gh.String(repoName)}},
		Base:    &gh.PullRequestBranch{Repo: &gh.Repository{FullName: gh.String(repoName)}},
	})
	r.gh.SetPermission(repoName, "writer", "write")
	r.gh.SetPermission(repoName, "reader", "read")

	comment := func(login, body string) string {
		t.Helper()
		before := len(r.comments(number))
		r.send("issue_comment", example(t, "issue_comment.created.0").onPR(number, login, body))
		cs := r.comments(number)
		var added []string
		for _, c := range cs[min(before, len(cs)):] {
			added = append(added, c.GetBody())
		}
		return strings.Join(added, "\n---\n")
	}
	file := func() string { s, _ := r.repo.File(t, path); return s }

	// The real example is a comment on an issue: answered, nothing else.
	issue := example(t, "issue_comment.created.1")
	issue.obj("comment")["body"] = "/env create"
	r.send("issue_comment", issue)
	if cs := r.comments(1); len(cs) != 1 || !strings.Contains(cs[0].GetBody(), "work on pull requests") {
		t.Errorf("issue comment reply = %v", cs)
	}
	if r.commits() != 0 {
		t.Fatalf("%d commits for a command on an issue", r.commits())
	}

	if got := comment("writer", "/env help"); !strings.Contains(got, "/env extend DURATION") {
		t.Errorf("help reply = %q", got)
	}
	if got := comment("writer", "/env help extend"); !strings.Contains(got, "`/env extend DURATION`: keep the test server longer") || strings.Contains(got, "/env create") {
		t.Errorf("help extend reply = %q", got)
	}
	if got := comment("writer", "/env bogus"); !strings.Contains(got, `Unknown subcommand "bogus"`) || !strings.Contains(got, "/env create") {
		t.Errorf("unknown command reply = %q", got)
	}
	if got := comment("reader", "/env create"); !strings.Contains(got, "needs write access") || r.commits() != 0 {
		t.Errorf("reader create: reply %q, %d commits", got, r.commits())
	}
	if got := comment("writer", "just a comment mentioning /env create in the middle"); got != "" || r.commits() != 0 {
		t.Errorf("prose answered: %q", got)
	}

	comment("writer", "/env create --size miniHA --env MM_FEATUREFLAGS_X=true")
	if f := file(); !strings.Contains(f, "size: miniHA") || !strings.Contains(f, "MM_FEATUREFLAGS_X: \"true\"") || !strings.Contains(f, "github: octocat") {
		t.Fatalf("create:\n%s", f)
	}
	if c := r.repo.Commits(t)[0]; c.Author.Name != "writer" || !strings.Contains(c.Message, "Command: /env create --size miniHA") {
		t.Errorf("create commit:\n%s %s", c.Author, c.Message)
	}
	if got := comment("writer", "/env create"); !strings.Contains(got, "exists already") {
		t.Errorf("second create reply = %q", got)
	}
	comment("writer", "/env update --env MM_FEATUREFLAGS_X= --env MM_LOGSETTINGS_CONSOLELEVEL=DEBUG")
	if f := file(); strings.Contains(f, "MM_FEATUREFLAGS_X") || !strings.Contains(f, "MM_LOGSETTINGS_CONSOLELEVEL: DEBUG") {
		t.Errorf("update:\n%s", f)
	}
	n := r.commits()
	if got := comment("writer", "/env update"); !strings.Contains(got, "nothing to change") || r.commits() != n {
		t.Errorf("no-op update: %q, %d commits", got, r.commits())
	}
	if got := comment("writer", "/env extend soon"); !strings.Contains(got, `Invalid duration "soon": use forms like`) || !strings.Contains(got, "/env extend DURATION") || r.commits() != n {
		t.Errorf("bad extend reply = %q", got)
	}
	if got := comment("writer", "/env extend 3d"); !strings.Contains(got, "extended by 3d") {
		t.Errorf("extend reply = %q", got)
	}
	if f := file(); !strings.Contains(f, "ttl: 10d") {
		t.Errorf("extend did not move the lifetime:\n%s", f)
	}
	// The committer's extension cap: one extension, and the lifetime.
	n = r.commits()
	if got := comment("writer", "/env extend 8d"); !strings.Contains(got, "one extension may be at most 7d") {
		t.Errorf("too long an extension: reply %q", got)
	}
	if got := comment("writer", "/env extend 5d"); !strings.Contains(got, "a lifetime of 15d, and the most is 14d") {
		t.Errorf("too long a lifetime: reply %q", got)
	}
	if f := file(); !strings.Contains(f, "ttl: 10d") || r.commits() != n {
		t.Errorf("a refused extension committed (%d commits):\n%s", r.commits()-n, f)
	}
	// Retry: only a failed environment, only by a writer, as a commit.
	n = r.commits()
	if got := comment("writer", "/env retry"); !strings.Contains(got, "has not failed; there is nothing to retry") || r.commits() != n {
		t.Errorf("retry of a healthy server: reply %q, %d commits", got, r.commits()-n)
	}
	if got := comment("writer", "/env retry now"); !strings.Contains(got, `Unexpected argument "now"`) || r.commits() != n {
		t.Errorf("retry with an argument: reply %q, %d commits", got, r.commits()-n)
	}
	healthy := statuses[prName]
	failed := healthy
	failed.LastError = "installation is creation-failed"
	failed.Conditions = []metav1.Condition{{Type: "Stalled", Status: metav1.ConditionTrue, Reason: envs.ReasonInstallationFailed}}
	statuses[prName] = failed
	if got := comment("reader", "/env retry"); !strings.Contains(got, "needs write access") || r.commits() != n {
		t.Errorf("reader retry: reply %q, %d commits", got, r.commits()-n)
	}
	comment("writer", "/env retry")
	if f := file(); !strings.Contains(f, `envwick.dev/retry: "1"`) || r.commits() != n+1 {
		t.Errorf("retry (%d commits):\n%s", r.commits()-n, f)
	}
	if c := r.repo.Commits(t)[0]; c.Author.Name != "writer" || !strings.Contains(c.Message, "Command: /env retry") {
		t.Errorf("retry commit:\n%s %s", c.Author, c.Message)
	}
	statuses[prName] = healthy
	if got := comment("reader", "/env status"); !strings.Contains(got, "state: stable") || !strings.Contains(got, "https://hello-world-pr-7.test.mattermost.cloud") {
		t.Errorf("status reply = %q", got)
	}
	comment("writer", "/env delete")
	if _, ok := r.repo.File(t, path); ok {
		t.Error("still there after /env delete")
	}
	if got := comment("writer", "/env delete"); !strings.Contains(got, "no test server") {
		t.Errorf("second delete reply = %q", got)
	}
	// Two commands in one comment: both run, each with its own commit.
	n = r.commits()
	comment("writer", "/env create\n/env extend 1d")
	if r.commits() != n+2 {
		t.Errorf("two commands made %d commits", r.commits()-n)
	}
}
