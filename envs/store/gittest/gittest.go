// Package gittest serves real git repositories on loopback for tests: git
// daemon (git://) and smart HTTP (git-http-backend behind basic auth), both
// run from the git installation on the machine. Repositories are created and
// inspected with go-git; the git binary runs the servers, and Git plays a
// person working in a clone.
package gittest

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// InitBare creates an empty bare repository root/name whose HEAD names
// branch "main", accepting pushes over HTTP, and returns its path.
func InitBare(t testing.TB, root, name string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		Bare:        true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatalf("creating bare repository %s: %v", dir, err)
	}
	cfg, err := repo.Config()
	if err != nil {
		t.Fatalf("reading config of %s: %v", dir, err)
	}
	cfg.Raw.Section("http").SetOption("receivepack", "true")
	if err := repo.SetConfig(cfg); err != nil {
		t.Fatalf("writing config of %s: %v", dir, err)
	}
	return dir
}

// execPath is where git keeps its helper programs (git-http-backend).
var execPath = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("git is needed to serve test repositories (apt-get install git): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// Daemon is git daemon serving every repository under Root over git://,
// pushes included.
type Daemon struct {
	Root string
	port int
}

// StartDaemon starts git daemon on a free loopback port; it stops when the
// test ends.
func StartDaemon(t testing.TB, root string) *Daemon {
	t.Helper()
	if _, err := execPath(); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if err := startDaemon(t, root, port); err != nil {
			lastErr = err
			continue // most likely another process took the port
		}
		return &Daemon{Root: root, port: port}
	}
	t.Fatalf("starting git daemon: %v", lastErr)
	return nil
}

func startDaemon(t testing.TB, root string, port int) error {
	var stderr lockedBuffer
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--listen=127.0.0.1", "--port="+strconv.Itoa(port),
		"--base-path="+root, "--export-all", "--enable=receive-pack", "--informative-errors", root)
	cmd.Stderr = &stderr
	// Its own process group, so the per-connection children stop with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("git daemon exited: %v: %s", err, stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("git daemon not listening on port %d: %s", port, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a readiness deadline
	}
}

// URL is the git:// URL of the repository called name.
func (d *Daemon) URL(name string) string {
	return fmt.Sprintf("git://127.0.0.1:%d/%s", d.port, name)
}

// HTTP is smart HTTP (git-http-backend) serving every repository under
// Root, behind basic auth with Token as the password (any user name). It
// counts the pushes and fetches it served.
type HTTP struct {
	Root  string
	Token string
	srv   *httptest.Server

	receivePacks atomic.Int64
	uploadPacks  atomic.Int64
}

// StartHTTP starts the server on a free loopback port; it stops when the
// test ends. An empty token serves without authentication.
func StartHTTP(t testing.TB, root, token string) *HTTP {
	t.Helper()
	dir, err := execPath()
	if err != nil {
		t.Fatal(err)
	}
	h := &HTTP{Root: root, Token: token}
	backend := filepath.Join(dir, "git-http-backend")
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if token != "" && (!ok || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if user == "" {
			user = "anonymous"
		}
		if r.Method == http.MethodPost {
			switch {
			case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
				h.receivePacks.Add(1)
			case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
				h.uploadPacks.Add(1)
			}
		}
		(&cgi.Handler{
			Path: backend,
			Root: "/",
			Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user},
		}).ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the http:// URL of the repository called name.
func (h *HTTP) URL(name string) string { return h.srv.URL + "/" + name }

// ReceivePacks counts pushes that reached the server with commits.
func (h *HTTP) ReceivePacks() int64 { return h.receivePacks.Load() }

// UploadPacks counts fetches that asked the server for objects.
func (h *HTTP) UploadPacks() int64 { return h.uploadPacks.Load() }

// Log returns every commit reachable from branch in the repository at dir,
// newest first.
func Log(t testing.TB, dir, branch string) []*object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatalf("opening %s: %v", dir, err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		t.Fatalf("reading branch %s of %s: %v", branch, dir, err)
	}
	it, err := repo.Log(&git.LogOptions{From: ref.Hash()})
	if err != nil {
		t.Fatalf("reading log of %s: %v", dir, err)
	}
	var out []*object.Commit
	if err := it.ForEach(func(c *object.Commit) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatalf("reading log of %s: %v", dir, err)
	}
	return out
}

// ReadFile returns a file on branch of the repository at dir.
func ReadFile(t testing.TB, dir, branch, path string) ([]byte, error) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil, err
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return nil, err
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, err
	}
	f, err := c.File(path)
	if err != nil {
		if errors.Is(err, object.ErrFileNotFound) {
			return nil, os.ErrNotExist
		}
		return nil, err
	}
	s, err := f.Contents()
	return []byte(s), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
