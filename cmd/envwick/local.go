package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/envwick/envwick/bots/github/localgithub"
	"github.com/envwick/envwick/bots/mattermost"
)

// localMode is how 'envwick dev' runs both bots with nothing configured:
// secrets generated once into the data dir (files only its user reads), a
// GitHub answered in the process, and a Mattermost that is the console.
// What would go to GitHub or to a person is printed to console, tagged by
// where it would go. 'envwick try' finds the running dev through the same
// files. A real server configured (a GitHub token or App, a Mattermost
// URL) is used instead, as in serve.
type localMode struct {
	dir     string
	console io.Writer
	github  *localgithub.Server
	chat    *mattermost.ConsoleChat
}

// Files of a running dev, in its data dir.
const (
	localDirName          = "local"
	devURLFile            = "url"
	githubSecretFile      = "github-webhook-secret"
	mattermostTokenFile   = "mattermost-command-token"
	devGitHubPostsPath    = "/dev/github/posts"
	generatedSecretLength = 32
)

func localDir(dataDir string) string { return filepath.Join(dataDir, localDirName) }

func newLocalMode(dataDir string, console io.Writer) (*localMode, error) {
	dir := localDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &localMode{dir: dir, console: console, github: localgithub.New(console), chat: mattermost.NewConsoleChat(console)}, nil
}

// secret returns the generated secret in file name, creating it (0600)
// the first time.
func (l *localMode) secret(name string) (string, error) {
	path := filepath.Join(l.dir, name)
	if s, err := readSecretFile(path); err == nil {
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, generatedSecretLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating %s: %w", name, err)
	}
	s := hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return s, f.Close()
}

// writeURL records where the running dev serves; removed when it stops.
func (l *localMode) writeURL(url string) (func(), error) {
	path := filepath.Join(l.dir, devURLFile)
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// devAutomation is the pull request automation dev runs for the
// repository 'envwick try' uses by default: /e2e-test environments (the
// workflow dispatch is printed) and the stale sweep. The others need a
// real GitHub to fetch and push branches.
const devAutomation = `# Written by envwick dev; pass --github-automation-config to use another.
repositories:
  acme/app:
    stale: {days: 14}
    e2e:
      workflow: e2e.yml
      image: mattermostdevelopment/mattermost-enterprise-edition
      defaultSuite: smoke
      suites:
        smoke: {size: miniSingleton, ttl: 2h}
`

// automationConfig writes dev's automation configuration and returns its
// path.
func (l *localMode) automationConfig() (string, error) {
	path := filepath.Join(l.dir, "automation.yaml")
	if err := os.WriteFile(path, []byte(devAutomation), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// readSecretFile reads a secret file, refusing one others may read.
func readSecretFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s may be read by others (mode %v): refusing to use it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
