package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/envwick/envwick/envs/store"
)

// Detail is one environment in full: its row, every recorded condition,
// its file as in git (secret values redacted), its status history and the
// git history of its file. It is what /api/v1/environments/{name} returns.
type Detail struct {
	*Environment
	Conditions []Condition `json:"conditions,omitempty"`
	// Commit is the commit of the branch people edit the file is read at;
	// FileURL links the file at that commit when the host is known.
	Commit  string `json:"commit,omitempty"`
	FileURL string `json:"fileURL,omitempty"`
	// YAML is the file as in git; YAMLRedacted says secret values were
	// replaced by Redacted.
	YAML         string `json:"yaml,omitempty"`
	YAMLRedacted bool   `json:"yamlRedacted,omitempty"`
	// StatusHistory is every status change within the history window,
	// newest first.
	StatusHistory []StatusChange `json:"statusHistory"`
	// History is every commit that changed the file, newest first;
	// HistoryMore says older ones were left out.
	History     []Change `json:"history"`
	HistoryMore bool     `json:"historyMore,omitempty"`
}

// Change is one commit of an environment file: the audit log.
type Change struct {
	Commit      string    `json:"commit"`
	URL         string    `json:"url,omitempty"`
	Author      string    `json:"author"`
	When        time.Time `json:"when"`
	Subject     string    `json:"subject"`
	RequestedBy string    `json:"requestedBy,omitempty"`
	Source      string    `json:"source,omitempty"`
	Command     string    `json:"command,omitempty"`
}

// Bounds of one environment's page.
const (
	maxFileLog      = 100
	maxFileLogWalk  = 20000
	maxStatusEvents = 200
)

type fileLogKey struct{ commit, path string }

type fileLog struct {
	changes []Change
	more    bool
}

var errNoEnvironment = errors.New("no such environment")

// detail builds the page of one environment.
func (d *Dashboard) detail(ctx context.Context, f *fleet, name string) (*Detail, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, errNoEnvironment
	}
	out := &Detail{Environment: f.rows[i], StatusHistory: []StatusChange{}, History: []Change{}}
	if st := d.status(ctx, f.statusBlobs[name]); st != nil {
		for j := range st.Status.Conditions {
			out.Conditions = append(out.Conditions, *condition(&st.Status.Conditions[j]))
		}
	}
	if file, ok := f.files[name]; ok {
		out.Commit = f.main
		if d.hasWeb {
			out.FileURL = d.web.fileURL(f.main, file.Path)
		}
		data, err := d.repo.ReadFile(ctx, f.main, file.Path)
		if err != nil {
			return nil, err
		}
		redacted, changed := redactYAML(data)
		out.YAML, out.YAMLRedacted = string(redacted), changed
		log, err := d.fileLog(ctx, f.main, file.Path)
		if err != nil {
			return nil, err
		}
		out.History, out.HistoryMore = log.changes, log.more
	}
	if f.status != "" {
		h, err := d.history(ctx, f.status)
		if err != nil {
			return nil, err
		}
		if sh := d.statusHistory(ctx, h, name, maxStatusEvents); sh != nil {
			out.StatusHistory = sh
		}
	}
	return out, nil
}

// fileLog is the git history of a file, cached by head and path.
func (d *Dashboard) fileLog(ctx context.Context, commit, path string) (fileLog, error) {
	key := fileLogKey{commit, path}
	if v, ok := d.fileLogs.Get(key); ok {
		return v.(fileLog), nil
	}
	infos, more, err := d.repo.FileLog(ctx, commit, path, maxFileLog, maxFileLogWalk)
	if errors.Is(err, store.ErrNotFound) {
		return fileLog{}, nil
	}
	if err != nil {
		return fileLog{}, err
	}
	out := fileLog{changes: make([]Change, 0, len(infos)), more: more}
	for _, c := range infos {
		ch := Change{Commit: c.Hash, Author: c.Author.Name, When: c.When.UTC(), Subject: c.Subject,
			RequestedBy: c.Trailer("Requested-by"), Source: c.Trailer("Source"), Command: c.Trailer("Command")}
		if d.hasWeb {
			ch.URL = d.web.commitURL(c.Hash)
		}
		out.changes = append(out.changes, ch)
	}
	d.fileLogs.Add(key, out)
	return out, nil
}
