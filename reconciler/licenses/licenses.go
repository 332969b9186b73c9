// Package licenses maps the license names environments ask for (e20,
// enterprise, ...) to the license texts the platform installs. The texts are
// secrets held outside git: a directory with one file per name and
// ENVWICK_LICENSE_<NAME> variables. The store re-reads the directory when a
// file in it changes (a cheap stat, at most once per CheckInterval), so a
// renewed license is picked up without a restart.
package licenses

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// EnvPrefix starts the name of an environment variable holding a license
// text: ENVWICK_LICENSE_E20 holds the text of license e20.
const EnvPrefix = "ENVWICK_LICENSE_"

// MaxTextSize bounds one license text (a Mattermost license file is a few
// kilobytes).
const MaxTextSize = 64 << 10

// DefaultCheckInterval is how often, at most, the directory is checked for
// changes.
const DefaultCheckInterval = time.Second

// Options configure a Store.
type Options struct {
	// Dir holds one file per license, named for it (e20, e20.txt or
	// e20.license all name e20). Hidden files are ignored. Empty: none.
	Dir string
	// Environ is the process environment (os.Environ()); variables
	// starting with EnvPrefix add or override licenses.
	Environ []string
	// CheckInterval bounds how often the directory is stat'ed for changes
	// (default DefaultCheckInterval).
	CheckInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is a set of license texts by name. It is safe for concurrent use.
type Store struct {
	opts Options
	env  map[string]string

	mu        sync.Mutex
	checkedAt time.Time
	stamp     string // names, sizes and modification times of the directory's files
	texts     map[string]string
	names     map[string]string // text -> name
	err       error             // the last read's error; the previous texts stay in use
}

// New reads the licenses once. A directory that cannot be read is an error
// at start; later read errors keep the last good texts (see Err).
func New(opts Options) (*Store, error) {
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = DefaultCheckInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{opts: opts, env: map[string]string{}}
	for _, kv := range opts.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) || len(k) == len(EnvPrefix) {
			continue
		}
		text := strings.TrimSpace(v)
		if text == "" {
			continue
		}
		if err := checkText(text); err != nil {
			return nil, fmt.Errorf("license variable %s %w", k, err)
		}
		s.env[Normalize(strings.TrimPrefix(k, EnvPrefix))] = text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkedAt = opts.Now()
	if err := s.reloadLocked(true); err != nil {
		return nil, err
	}
	return s, nil
}

// Normalize turns a file name stem or variable suffix into a license name:
// lower case, underscores as dashes.
func Normalize(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
}

// Fingerprint names a text without revealing it: what logs, status and
// plans show for a license text no name matches.
func Fingerprint(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// Text returns the license text of name.
func (s *Store) Text(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	t, ok := s.texts[Normalize(name)]
	return t, ok
}

// Name returns the name whose text is text.
func (s *Store) Name(text string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	n, ok := s.names[strings.TrimSpace(text)]
	return n, ok
}

// Names returns the known license names, sorted.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	return slices.Sorted(maps.Keys(s.texts))
}

// Err is the error of the last read of the directory, nil when it was
// read cleanly. The texts of the last good read stay in use.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Store) refreshLocked() {
	now := s.opts.Now()
	if s.opts.Dir == "" || now.Sub(s.checkedAt) < s.opts.CheckInterval {
		return
	}
	s.checkedAt = now
	s.err = s.reloadLocked(false)
}

// reloadLocked reads the directory when its stamp changed (always when
// force is set).
func (s *Store) reloadLocked(force bool) error {
	files, stamp, err := s.list()
	if err != nil {
		return err
	}
	if !force && stamp == s.stamp {
		return nil
	}
	texts := maps.Clone(s.env)
	for name, path := range files {
		if _, ok := s.env[name]; ok {
			continue // a variable overrides a file
		}
		text, err := readText(path)
		if err != nil {
			return err
		}
		if text != "" {
			texts[name] = text
		}
	}
	names := make(map[string]string, len(texts))
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		if other, ok := names[texts[name]]; ok {
			return fmt.Errorf("licenses %s and %s have the same text: give each name its own license", other, name)
		}
		names[texts[name]] = name
	}
	s.texts, s.names, s.stamp = texts, names, stamp
	return nil
}

// list returns the license files by name and a stamp that changes when a
// file is added, removed, replaced or written.
func (s *Store) list() (map[string]string, string, error) {
	files := map[string]string{}
	if s.opts.Dir == "" {
		return files, "", nil
	}
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, "", fmt.Errorf("reading the license directory: %w", err)
	}
	var stamp strings.Builder
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		path := filepath.Join(s.opts.Dir, e.Name())
		info, err := os.Stat(path) // follows symbolic links (mounted secrets)
		if err != nil {
			return nil, "", fmt.Errorf("reading the license directory: %w", err)
		}
		if info.IsDir() {
			continue
		}
		name := Normalize(strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())))
		if prev, ok := files[name]; ok {
			return nil, "", fmt.Errorf("license files %s and %s both name license %s", filepath.Base(prev), e.Name(), name)
		}
		files[name] = path
		fmt.Fprintf(&stamp, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return files, stamp.String(), nil
}

func readText(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading license file %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTextSize+1))
	if err != nil {
		return "", fmt.Errorf("reading license file %s: %w", filepath.Base(path), err)
	}
	text := strings.TrimSpace(string(b))
	if err := checkText(text); err != nil {
		return "", fmt.Errorf("license file %s %w", filepath.Base(path), err)
	}
	return text, nil
}

// checkText refuses a text the provisioner would refuse: it takes no
// whitespace in a license, and its refusal repeats the text.
func checkText(text string) error {
	if len(text) > MaxTextSize {
		return fmt.Errorf("is larger than %d bytes", MaxTextSize)
	}
	if strings.IndexFunc(text, unicode.IsSpace) >= 0 {
		return errors.New("holds whitespace inside the text (the provisioner refuses a license with spaces or line breaks)")
	}
	return nil
}

// ErrUnknown is wrapped by UnknownError.
var ErrUnknown = errors.New("unknown license")

// UnknownError is the error for a license name the store does not hold; it
// names the ones available.
func UnknownError(name string, available []string) error {
	list := "none are configured (see docs/operations.md)"
	if len(available) > 0 {
		list = "available: " + strings.Join(available, ", ")
	}
	return fmt.Errorf("%w %q: %s", ErrUnknown, name, list)
}
