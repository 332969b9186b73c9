package licenses

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStoreReadsDirectoryAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "e20.license", "TEXT-E20\n")
	write(t, dir, "Enterprise", "  TEXT-ENT  ")
	write(t, dir, ".hidden", "NOPE")
	write(t, dir, "empty", "\n")
	s, err := New(Options{Dir: dir, Environ: []string{"ENVWICK_LICENSE_E10=TEXT-E10", "ENVWICK_LICENSE_ENTERPRISE=TEXT-ENV", "HOME=/root", "ENVWICK_LICENSE_=x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"e10", "e20", "enterprise"}; !slices.Equal(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	for _, c := range []struct{ name, text string }{{"e20", "TEXT-E20"}, {"E20", "TEXT-E20"}, {"e10", "TEXT-E10"}, {"enterprise", "TEXT-ENV"}} {
		if got, ok := s.Text(c.name); !ok || got != c.text {
			t.Errorf("Text(%s) = %q, %v; want %q", c.name, got, ok, c.text)
		}
	}
	if n, ok := s.Name("TEXT-E20\n"); !ok || n != "e20" {
		t.Errorf("Name = %q, %v", n, ok)
	}
	if _, ok := s.Text("hidden"); ok {
		t.Error("hidden file read as a license")
	}
}

func TestStorePicksUpChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "e20", "OLD")
	now := time.Unix(1000, 0)
	s, err := New(Options{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "e20", "NEW-TEXT")
	write(t, dir, "te", "TE")
	if got, _ := s.Text("e20"); got != "OLD" {
		t.Fatalf("re-read before the check interval: %q", got)
	}
	now = now.Add(2 * time.Second)
	if got, _ := s.Text("e20"); got != "NEW-TEXT" {
		t.Fatalf("after a change: %q", got)
	}
	if !slices.Contains(s.Names(), "te") {
		t.Fatal("added file not picked up")
	}
	if err := os.Remove(filepath.Join(dir, "te")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "dup", "NEW-TEXT") // a bad change keeps the last good texts
	now = now.Add(2 * time.Second)
	if got, ok := s.Text("te"); !ok || got != "TE" {
		t.Fatalf("a bad read dropped the last good texts: %q %v", got, ok)
	}
	if err := s.Err(); err == nil || strings.Contains(err.Error(), "NEW-TEXT") {
		t.Fatalf("Err = %v; want an error naming files, not texts", err)
	}
}

func TestStoreRejectsBadDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "e20", "A")
	write(t, dir, "e20.txt", "B")
	if _, err := New(Options{Dir: dir}); err == nil {
		t.Fatal("two files naming one license accepted")
	}
	if _, err := New(Options{Dir: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("missing directory accepted")
	}
	big := t.TempDir()
	write(t, big, "e20", strings.Repeat("x", MaxTextSize+1))
	if _, err := New(Options{Dir: big}); err == nil {
		t.Fatal("oversized license accepted")
	}
	spaced := t.TempDir()
	write(t, spaced, "e20", "SECRET PART\nTWO")
	if _, err := New(Options{Dir: spaced}); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("a license with whitespace inside: %v; want an error that does not repeat it", err)
	}
}

func TestUnknownErrorNamesAvailable(t *testing.T) {
	err := UnknownError("e30", []string{"e10", "e20"})
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "e10, e20") || !strings.Contains(err.Error(), `"e30"`) {
		t.Fatalf("err = %v", err)
	}
	if fp := Fingerprint("secret"); strings.Contains(fp, "secret") || !strings.HasPrefix(fp, "sha256:") || fp != Fingerprint("secret") {
		t.Fatalf("fingerprint = %s", fp)
	}
}
