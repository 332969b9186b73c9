package githubbot

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// prRef is the pull request an environment serves.
type prRef struct {
	Name    string `json:"name"`
	Repo    string `json:"repo"`
	Number  int    `json:"number"`
	HeadSHA string `json:"headSHA,omitempty"`
}

// prIndex remembers which pull request each environment serves. A
// "deleted" transition may arrive after the file is gone, with no spec left
// to say which pull request to tell; the index does. It is an append-only
// file of JSON lines (the last line for a name wins), so it survives
// restarts.
type prIndex struct {
	mu   sync.Mutex
	refs map[string]prRef
	f    *os.File
}

func openPRIndex(dir string) (*prIndex, error) {
	x := &prIndex{refs: map[string]prRef{}}
	if dir == "" {
		return x, nil
	}
	p := filepath.Join(dir, "pull-requests.jsonl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening pull request index: %w", err)
	}
	if f, err := os.Open(p); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r prRef
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Name != "" {
				x.refs[r.Name] = r
			}
		}
		f.Close()
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening pull request index: %w", err)
	}
	x.f = f
	return x, nil
}

func (x *prIndex) get(name string) (prRef, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, ok := x.refs[name]
	return r, ok
}

// put records r; the error says the record will not survive a restart (it is
// still known in memory).
func (x *prIndex) put(r prRef) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.refs[r.Name]; ok && old == r {
		return nil
	}
	x.refs[r.Name] = r
	if x.f == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding pull request of %s: %w", r.Name, err)
	}
	if _, err := x.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("recording pull request of %s: %w", r.Name, err)
	}
	return nil
}

func (x *prIndex) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.f == nil {
		return nil
	}
	err := x.f.Close()
	x.f = nil
	return err
}
