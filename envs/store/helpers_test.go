package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// envYAML is a valid environment file for name.
func envYAML(name, owner string) []byte {
	return fmt.Appendf(nil, `apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: %s
spec:
  owner:
    github: %s
  installation:
    size: miniSingleton
`, name, owner)
}

func envPath(name string) string { return "environments/" + name + ".yaml" }

// writeFile is a change writing one file.
func writeFile(path string, data []byte) func(*store.Tx) error {
	return func(tx *store.Tx) error {
		tx.Write(path, data)
		return nil
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t testing.TB, o store.Options) *store.Repo {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "clone")
	}
	if o.Committer.Name == "" {
		o.Committer = store.Signature{Name: "envwick-bot", Email: "bot@envwick.test"}
	}
	r, err := store.Open(ctxT(t), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.URL, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func commit(t testing.TB, r *store.Repo, c store.Change) store.Result {
	t.Helper()
	if c.Message == "" {
		c.Message = "Test change"
	}
	res, err := r.Commit(ctxT(t), c)
	if err != nil {
		t.Fatalf("Commit(%q): %v", c.Message, err)
	}
	return res
}

// remote is one bare repository served over a real transport.
type remote struct {
	name string
	bare string // path of the bare repository
	url  string
	auth store.Auth
	http *gittest.HTTP // set for the HTTP transport
}

// transports serves a new bare repository over each kind of remote.
func transports(t *testing.T) []remote {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	h := gittest.StartHTTP(t, root, "s3cret-token")
	s := gittest.StartSSH(t, root)
	return []remote{
		{name: "git-daemon", bare: gittest.InitBare(t, root, "daemon.git"), url: d.URL("daemon.git")},
		{name: "smart-http", bare: gittest.InitBare(t, root, "http.git"), url: h.URL("http.git"), auth: store.Auth{Token: "s3cret-token"}, http: h},
		{name: "ssh", bare: gittest.InitBare(t, root, "ssh.git"), url: s.URL("ssh.git"), auth: store.Auth{SSHKeyFile: s.KeyFile, SSHKnownHostsFile: s.KnownHostsFile}},
		{name: "file-url", bare: gittest.InitBare(t, root, "file.git"), url: "file://" + filepath.Join(root, "file.git")},
		{name: "local-path", bare: gittest.InitBare(t, root, "path.git"), url: filepath.Join(root, "path.git")},
	}
}
