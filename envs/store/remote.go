package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
	"github.com/go-git/go-git/v5/utils/ioutil"
)

const (
	remoteName = "origin"
	// trackingPrefix holds what the remote's branches were at the last fetch
	// or successful push.
	trackingPrefix = "refs/remotes/" + remoteName + "/"
)

// errRejected is returned by a push the remote refused because its branch
// is no longer where the commits were built.
var errRejected = errors.New("remote branch moved")

// remote is the other end of a Repo: a git server or a bare repository on
// this machine.
type remote interface {
	// fetch brings every branch of the remote into refs/remotes/origin/*.
	fetch(ctx context.Context) error
	// fetchRef brings one ref of the remote into the clone as local.
	fetchRef(ctx context.Context, ref, local plumbing.ReferenceName) error
	// push moves the remote's branch from old (zero: it must not exist yet)
	// to new, and fails with errRejected when the branch is elsewhere.
	// objects are those the new commits introduced.
	push(ctx context.Context, branch string, old, new plumbing.Hash, objects []plumbing.Hash) error
	// head reads where branch is on the remote now (zero: it does not
	// exist), fetching nothing.
	head(ctx context.Context, branch string) (plumbing.Hash, error)
}

// Auth authenticates to the remote. Secrets never appear in logs or errors:
// Auth formats as a redacted summary.
type Auth struct {
	// Username for HTTP(S) basic auth; "x-access-token" when empty, which
	// GitHub accepts with installation and personal access tokens.
	Username string
	// Token is the HTTP(S) basic auth password.
	Token string
	// TokenFunc returns a token per operation, for tokens that expire (a
	// GitHub App installation token lasts an hour). It wins over Token.
	TokenFunc func(ctx context.Context) (string, error)
	// SSHKeyFile is a private key for ssh:// URLs; the user comes from the
	// URL ("git" when absent).
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile.
	SSHKeyPassphrase string
	// SSHKnownHostsFile verifies the server's host key; empty uses
	// $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts.
	SSHKnownHostsFile string
}

// String keeps secrets out of logs and error messages that print an Auth.
func (a Auth) String() string {
	var parts []string
	if a.Token != "" || a.TokenFunc != nil {
		parts = append(parts, "token=<redacted>")
	}
	if a.SSHKeyFile != "" {
		parts = append(parts, "ssh-key="+a.SSHKeyFile)
	}
	return "Auth{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so %#v redacts too.
func (a Auth) GoString() string { return a.String() }

// method returns the go-git auth method for an endpoint.
func (a Auth) method(ctx context.Context, ep *transport.Endpoint) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		token := a.Token
		if a.TokenFunc != nil {
			t, err := a.TokenFunc(ctx)
			if err != nil {
				return nil, fmt.Errorf("getting a token for %s: %w", ep.Host, err)
			}
			token = t
		}
		if token == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "x-access-token"
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	case "ssh":
		if a.SSHKeyFile == "" {
			return nil, nil
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("reading SSH key %s: %w", a.SSHKeyFile, err)
		}
		if a.SSHKnownHostsFile != "" {
			cb, err := gitssh.NewKnownHostsCallback(a.SSHKnownHostsFile)
			if err != nil {
				return nil, fmt.Errorf("reading SSH known hosts %s: %w", a.SSHKnownHostsFile, err)
			}
			keys.HostKeyCallback = cb
		}
		return keys, nil
	}
	return nil, nil
}

// newRemote returns the remote for url, recording it as "origin" in the
// local repository's configuration.
func newRemote(repo *git.Repository, local storage.Storer, rawURL string, auth Auth) (remote, *transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing remote URL %s: %w", redactURL(rawURL), err)
	}
	if err := setOrigin(repo, rawURL); err != nil {
		return nil, nil, err
	}
	switch ep.Protocol {
	case "file":
		return &dirRemote{path: ep.Path, local: local}, ep, nil
	case "git", "http", "https", "ssh":
		return &netRemote{repo: repo, ep: ep, auth: auth}, ep, nil
	}
	return nil, nil, fmt.Errorf("remote URL %s: unsupported protocol %q (use a path, file://, git://, http(s):// or ssh://)", redactURL(rawURL), ep.Protocol)
}

// setOrigin points the "origin" remote at url, so a Dir reopened with a
// new URL follows it.
func setOrigin(repo *git.Repository, rawURL string) error {
	cfg, err := repo.Config()
	if err != nil {
		return fmt.Errorf("reading repository config: %w", err)
	}
	want := &config.RemoteConfig{
		Name:  remoteName,
		URLs:  []string{rawURL},
		Fetch: []config.RefSpec{config.RefSpec("+refs/heads/*:" + trackingPrefix + "*")},
	}
	if have, ok := cfg.Remotes[remoteName]; ok && len(have.URLs) == 1 && have.URLs[0] == rawURL {
		return nil
	}
	cfg.Remotes[remoteName] = want
	if err := repo.SetConfig(cfg); err != nil {
		return fmt.Errorf("recording remote: %w", err)
	}
	return nil
}

// redactURL drops credentials from a URL for logs and errors. Over
// HTTP(S) a user name without a password is a token too
// (https://TOKEN@github.com/...); over SSH it is the login (git@).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	} else if u.Scheme == "http" || u.Scheme == "https" {
		u.User = url.User("redacted")
	}
	return u.String()
}

// netRemote is a git server reached with go-git's transports (git://,
// http(s)://, ssh://). The server updates refs with compare-and-swap, so a
// push built on a stale head is refused rather than lost.
type netRemote struct {
	repo *git.Repository
	ep   *transport.Endpoint
	auth Auth
}

func (n *netRemote) fetch(ctx context.Context) error {
	auth, err := n.auth.method(ctx, n.ep)
	if err != nil {
		return err
	}
	err = n.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec("+refs/heads/*:" + trackingPrefix + "*")},
		Auth:       auth,
		Tags:       git.NoTags,
		Prune:      true,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) || errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil
	}
	return err
}

// push sends exactly the objects the new commits introduced and asks the
// server to move the branch from old to new, which it does under its ref
// lock. go-git's Push would instead walk the whole history behind every
// remote ref to work out what to send: a cost that grows with the
// repository on every push.
func (n *netRemote) push(ctx context.Context, branch string, old, new plumbing.Hash, objects []plumbing.Hash) (err error) {
	auth, err := n.auth.method(ctx, n.ep)
	if err != nil {
		return err
	}
	c, err := client.NewClient(n.ep)
	if err != nil {
		return err
	}
	sess, err := c.NewReceivePackSession(n.ep, auth)
	if err != nil {
		return err
	}
	defer ioutil.CheckClose(sess, &err)
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return err
	}
	name := plumbing.NewBranchReferenceName(branch)
	cur := plumbing.ZeroHash
	if ref, err := refs.Reference(name); err == nil {
		cur = ref.Hash()
	}
	if cur != old {
		return errRejected
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: name, Old: old, New: new}}
	rd, wr := io.Pipe()
	req.Packfile = rd
	encoded := make(chan error, 1)
	go func() {
		enc := packfile.NewEncoder(wr, n.repo.Storer, !ar.Capabilities.Supports(capability.OFSDelta))
		_, err := enc.Encode(objects, packWindow)
		encoded <- wr.CloseWithError(err)
	}()
	status, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = rd.CloseWithError(err)
		<-encoded
		return err
	}
	if err := <-encoded; err != nil {
		return fmt.Errorf("encoding pack: %w", err)
	}
	if status != nil {
		return status.Error()
	}
	return nil
}

// packWindow is how many objects the encoder compares to find deltas; a
// one-line change to a large folder's tree sends as a small delta.
const packWindow = 10

// dirRemote is a repository on this machine (a path or file:// URL). go-git
// would run the git binary for these, and its in-process server updates refs
// without checking their old value, so objects are copied directly and the
// branch is moved with a compare-and-swap under go-git's file lock: safe
// between envwick processes sharing the repository.
type dirRemote struct {
	path  string
	local storage.Storer
}

// gitDir is the repository's git directory: the path itself when bare.
func (d *dirRemote) gitDir() string {
	if fi, err := os.Stat(filepath.Join(d.path, ".git")); err == nil && fi.IsDir() {
		return filepath.Join(d.path, ".git")
	}
	return d.path
}

func (d *dirRemote) open() (*filesystem.Storage, error) {
	dir := d.gitDir()
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", d.path, transport.ErrRepositoryNotFound)
	}
	return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), nil
}

func (d *dirRemote) fetch(ctx context.Context) error {
	return retryTornRef(ctx, func() error { return d.fetchOnce(ctx) })
}

// retryTornRef runs read again when it met a ref file another process was
// rewriting at that moment (go-git truncates a ref file and then writes
// it): a few tries a few milliseconds apart see the new value.
func retryTornRef(ctx context.Context, read func() error) error {
	err := read()
	for try := 0; try < 5 && errors.Is(err, dotgit.ErrEmptyRefFile); try++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try+1) * 5 * time.Millisecond):
		}
		err = read()
	}
	return err
}

func (d *dirRemote) fetchOnce(ctx context.Context) error {
	src, err := d.open()
	if err != nil {
		return err
	}
	defer src.Close()
	refs, err := src.IterReferences()
	if err != nil {
		return fmt.Errorf("listing branches of %s: %w", d.path, err)
	}
	heads := map[string]plumbing.Hash{}
	err = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Name().IsBranch() && r.Type() == plumbing.HashReference {
			heads[r.Name().Short()] = r.Hash()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing branches of %s: %w", d.path, err)
	}
	for branch, h := range heads {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyObjects(ctx, src, d.local, h); err != nil {
			return fmt.Errorf("fetching %s from %s: %w", branch, d.path, err)
		}
		if err := d.local.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(trackingPrefix+branch), h)); err != nil {
			return fmt.Errorf("recording %s: %w", branch, err)
		}
	}
	return pruneTracking(d.local, heads)
}

// pruneTracking removes tracking refs of branches the remote no longer has.
func pruneTracking(s storage.Storer, heads map[string]plumbing.Hash) error {
	refs, err := s.IterReferences()
	if err != nil {
		return err
	}
	var stale []plumbing.ReferenceName
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		if b, ok := strings.CutPrefix(r.Name().String(), trackingPrefix); ok {
			if _, ok := heads[b]; !ok {
				stale = append(stale, r.Name())
			}
		}
		return nil
	})
	for _, n := range stale {
		if err := s.RemoveReference(n); err != nil {
			return err
		}
	}
	return nil
}

func (d *dirRemote) push(ctx context.Context, branch string, old, new plumbing.Hash, objects []plumbing.Hash) error {
	dst, err := d.open()
	if err != nil {
		return err
	}
	defer dst.Close()
	name := plumbing.NewBranchReferenceName(branch)
	cur, err := dst.Reference(name)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		if !old.IsZero() {
			return errRejected
		}
	case err != nil:
		return fmt.Errorf("reading %s in %s: %w", branch, d.path, err)
	case cur.Hash() != old:
		return errRejected
	}
	// The new commits' objects are all that old lacks; write them in the
	// order they were made (children first) so that a crash leaves no
	// object without its closure.
	for _, h := range objects {
		if dst.HasEncodedObject(h) == nil {
			continue
		}
		obj, err := d.local.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("pushing to %s: reading object %s: %w", d.path, h, err)
		}
		if _, err := dst.SetEncodedObject(obj); err != nil {
			return fmt.Errorf("pushing to %s: writing object %s: %w", d.path, h, err)
		}
	}
	if old.IsZero() {
		return d.createBranch(name, new)
	}
	return d.moveBranch(dst, name, old, new)
}

// moveBranch moves a branch from old to new as git does: under the
// branch's .lock file (which git and other envwick processes respect), and
// by renaming the new value into place, so that a git client reading the
// repository meanwhile sees the old value or the new one, never an empty
// file (go-git's own reference update truncates the file, then writes it).
// A branch locked by someone else is a rejected push: the caller retries.
func (d *dirRemote) moveBranch(dst *filesystem.Storage, name plumbing.ReferenceName, old, new plumbing.Hash) error {
	ref := filepath.Join(d.gitDir(), filepath.FromSlash(name.String()))
	lock := ref + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return errRejected
	}
	if err != nil {
		return fmt.Errorf("locking %s: %w", name, err)
	}
	defer os.Remove(lock) // a no-op once renamed
	cur, err := dst.Reference(name)
	if err != nil || cur.Hash() != old {
		f.Close()
		return errRejected
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(lock, ref); err != nil {
		return fmt.Errorf("moving %s: %w", name, err)
	}
	return nil
}

// createBranch creates a branch only if no one else just did: go-git's
// reference update checks nothing when there is no old value, so the ref
// file is written aside and hard-linked into place, which fails if it
// exists.
func (d *dirRemote) createBranch(name plumbing.ReferenceName, h plumbing.Hash) error {
	ref := filepath.Join(d.gitDir(), filepath.FromSlash(name.String()))
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(ref), ".envwick-ref-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(h.String() + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), ref); err != nil {
		if errors.Is(err, os.ErrExist) {
			return errRejected
		}
		return err
	}
	return nil
}

// copyObjects copies tip and everything it reaches that dst lacks, children
// before the objects naming them, so dst never holds an object whose
// closure is incomplete (which is what lets the walk stop at any object dst
// already has).
func copyObjects(ctx context.Context, src, dst storage.Storer, tip plumbing.Hash) error {
	type frame struct {
		h        plumbing.Hash
		expanded bool
	}
	stack := []frame{{h: tip}}
	done := map[plumbing.Hash]bool{}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		if done[f.h] {
			stack = stack[:len(stack)-1]
			continue
		}
		if dst.HasEncodedObject(f.h) == nil {
			done[f.h] = true
			stack = stack[:len(stack)-1]
			continue
		}
		obj, err := src.EncodedObject(plumbing.AnyObject, f.h)
		if err != nil {
			return fmt.Errorf("reading object %s: %w", f.h, err)
		}
		if f.expanded {
			if _, err := dst.SetEncodedObject(obj); err != nil {
				return fmt.Errorf("writing object %s: %w", f.h, err)
			}
			done[f.h] = true
			stack = stack[:len(stack)-1]
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		stack[len(stack)-1].expanded = true
		children, err := references(src, obj)
		if err != nil {
			return err
		}
		for _, c := range children {
			if !done[c] {
				stack = append(stack, frame{h: c})
			}
		}
	}
	return nil
}

// references lists the objects an object names.
func references(s storage.Storer, obj plumbing.EncodedObject) ([]plumbing.Hash, error) {
	switch obj.Type() {
	case plumbing.CommitObject:
		c, err := object.DecodeCommit(s, obj)
		if err != nil {
			return nil, err
		}
		return append([]plumbing.Hash{c.TreeHash}, c.ParentHashes...), nil
	case plumbing.TreeObject:
		t, err := object.DecodeTree(s, obj)
		if err != nil {
			return nil, err
		}
		out := make([]plumbing.Hash, 0, len(t.Entries))
		for _, e := range t.Entries {
			if e.Mode != filemode.Submodule {
				out = append(out, e.Hash)
			}
		}
		return out, nil
	case plumbing.TagObject:
		t, err := object.DecodeTag(s, obj)
		if err != nil {
			return nil, err
		}
		return []plumbing.Hash{t.Target}, nil
	}
	return nil, nil
}

// isPermanent reports errors that retrying cannot fix.
func isPermanent(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) ||
		errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrRepositoryNotFound) ||
		errors.Is(err, transport.ErrInvalidAuthMethod)
}
