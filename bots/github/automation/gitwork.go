package automation

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// go-git has no merge and no cherry-pick, so those run the git binary, in
// a private temporary directory that is removed afterwards. Nothing of the
// pull request's content configures git: the work repository is created
// fresh (no .git/config or hooks come from a remote), HOME is an empty
// directory, system and global configuration are off, hooks point at
// /dev/null, and the only configuration is the few keys set here, passed
// through the environment (so the token never appears in a command line,
// a URL or an error).

// gitIdentity is a commit author or committer.
type gitIdentity struct{ Name, Email string }

// gitRunner runs git for merges and cherry-picks.
type gitRunner struct {
	token     string // HTTP basic-auth password for fetch and push; may be empty
	committer gitIdentity
}

// workTree is one private git repository for one operation.
type workTree struct {
	g      *gitRunner
	dir    string
	home   string
	author gitIdentity
}

// open creates the private repository; the caller must close it.
func (g *gitRunner) open(ctx context.Context, author gitIdentity) (*workTree, error) {
	root, err := os.MkdirTemp("", "envwick-git-")
	if err != nil {
		return nil, fmt.Errorf("creating a git work directory: %w", err)
	}
	w := &workTree{g: g, dir: filepath.Join(root, "repo"), home: filepath.Join(root, "home"), author: author}
	for _, d := range []string{w.dir, w.home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			w.close()
			return nil, fmt.Errorf("creating a git work directory: %w", err)
		}
	}
	if _, err := w.git(ctx, "init", "-q", "-b", "envwick-work"); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *workTree) close() { os.RemoveAll(filepath.Dir(w.dir)) }

// env is the whole environment git runs with: nothing is inherited but
// PATH.
func (w *workTree) env() []string {
	cfg := [][2]string{
		{"core.hooksPath", "/dev/null"},
		{"core.fsmonitor", "false"},
		{"protocol.file.allow", "user"},
		{"protocol.ext.allow", "never"},
		{"merge.renames", "true"},
		{"gc.auto", "0"},
		{"advice.detachedHead", "false"},
	}
	if w.g.token != "" {
		auth := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + w.g.token))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + auth})
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.home,
		"XDG_CONFIG_HOME=" + w.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false",
		"LC_ALL=C",
		"GIT_AUTHOR_NAME=" + w.author.Name,
		"GIT_AUTHOR_EMAIL=" + w.author.Email,
		"GIT_COMMITTER_NAME=" + w.g.committer.Name,
		"GIT_COMMITTER_EMAIL=" + w.g.committer.Email,
		"GIT_CONFIG_COUNT=" + strconv.Itoa(len(cfg)),
	}
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// gitError is a git command that failed, with what it said.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

func (e *gitError) Unwrap() error { return e.err }

// git runs one command and returns its standard output.
func (w *workTree) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = w.dir
	cmd.Env = w.env()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), &gitError{args: args, stderr: redact(errOut.String(), w.g.token), err: err}
	}
	return out.String(), nil
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// fetch fetches branch of url into refs/remotes/<as>/<branch>. A branch
// that does not exist is errNoBranch.
func (w *workTree) fetch(ctx context.Context, url, branch, as string) (string, error) {
	ref := "refs/remotes/" + as + "/" + branch
	_, err := w.git(ctx, "fetch", "-q", "--no-tags", "--no-recurse-submodules", url, "+refs/heads/"+branch+":"+ref)
	if err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "couldn't find remote ref") {
			return "", errNoBranch
		}
		return "", err
	}
	return ref, nil
}

var errNoBranch = errors.New("no such branch")

// remoteHead returns the commit branch points at in url, or "" when there
// is no such branch.
func (w *workTree) remoteHead(ctx context.Context, url, branch string) (string, error) {
	out, err := w.git(ctx, "ls-remote", "--heads", url, "refs/heads/"+branch)
	if err != nil {
		return "", err
	}
	sha, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	return sha, nil
}

// conflicts lists the files left unmerged.
func (w *workTree) conflicts(ctx context.Context) []string {
	out, _ := w.git(ctx, "diff", "--name-only", "--diff-filter=U")
	return strings.Fields(out)
}

// revParse resolves a revision to a commit SHA.
func (w *workTree) revParse(ctx context.Context, rev string) (string, error) {
	out, err := w.git(ctx, "rev-parse", "--verify", "-q", rev+"^{commit}")
	return strings.TrimSpace(out), err
}

// push pushes HEAD to branch of url, without force: a branch that moved
// meanwhile is rejected and the event retried.
func (w *workTree) push(ctx context.Context, url, branch string) error {
	_, err := w.git(ctx, "push", "-q", "--no-verify", url, "HEAD:refs/heads/"+branch)
	return err
}
