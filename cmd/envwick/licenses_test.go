package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenLicenses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "e20"), []byte("TEXT-E20\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := openLicenses("", log)
	if err != nil || st != nil {
		t.Fatalf("nothing configured: %v, %v; want no store", st, err)
	}
	if !strings.Contains(logs.String(), "sent to the platform as they are") {
		t.Errorf("no warning without license texts: %s", logs.String())
	}
	t.Setenv("ENVWICK_LICENSE_ENTERPRISE", "TEXT-ENT")
	logs.Reset()
	st, err = openLicenses(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Names(); !slices.Equal(got, []string{"e20", "enterprise"}) {
		t.Fatalf("names = %v", got)
	}
	if got := licenseTexts(st); !slices.Equal(got, []string{"TEXT-E20", "TEXT-ENT"}) {
		t.Fatalf("texts for the simulator = %v", got)
	}
	if strings.Contains(logs.String(), "TEXT-") {
		t.Errorf("a license text was logged: %s", logs.String())
	}
	if _, err := openLicenses(filepath.Join(dir, "missing"), log); err == nil {
		t.Error("a missing license folder was accepted")
	}
}
