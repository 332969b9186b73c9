package dashboard

import (
	"net/url"
	"strings"
)

// webRepo links files and commits of the envs repository on its web host,
// for the hosts whose URL layout is known. Only the host and the
// repository path are kept from the clone URL: credentials in it never
// reach a page.
type webRepo struct {
	host string // github.com, gitlab.com, ...
	base string // https://host/owner/name
}

// knownHosts are the web hosts envwick can link into.
var knownHosts = []string{"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"}

// parseWebRepo reads a clone URL (https://, ssh://, or scp-like
// git@host:owner/name.git); ok is false for a host it cannot link to.
func parseWebRepo(raw string) (webRepo, bool) {
	raw = strings.TrimSpace(raw)
	var host, path string
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		host, path = u.Hostname(), u.Path
	} else if at, rest, ok := strings.Cut(raw, "@"); ok && !strings.Contains(at, "/") {
		// scp-like: user@host:owner/name.git
		h, p, ok := strings.Cut(rest, ":")
		if !ok {
			return webRepo{}, false
		}
		host, path = h, p
	} else {
		return webRepo{}, false
	}
	host = strings.ToLower(host)
	known := false
	for _, k := range knownHosts {
		known = known || host == k
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	parts := strings.Split(path, "/")
	if !known || len(parts) < 2 {
		return webRepo{}, false
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return webRepo{}, false
		}
	}
	return webRepo{host: host, base: "https://" + host + "/" + (&url.URL{Path: path}).EscapedPath()}, true
}

// fileURL links a file at a commit.
func (w webRepo) fileURL(commit, path string) string {
	p := (&url.URL{Path: path}).EscapedPath()
	switch w.host {
	case "gitlab.com":
		return w.base + "/-/blob/" + commit + "/" + p
	case "bitbucket.org":
		return w.base + "/src/" + commit + "/" + p
	case "codeberg.org":
		return w.base + "/src/commit/" + commit + "/" + p
	}
	return w.base + "/blob/" + commit + "/" + p
}

// commitURL links a commit.
func (w webRepo) commitURL(commit string) string {
	switch w.host {
	case "gitlab.com":
		return w.base + "/-/commit/" + commit
	case "bitbucket.org":
		return w.base + "/commits/" + commit
	}
	return w.base + "/commit/" + commit
}
