package githubbot

import "testing"

// The index survives a restart, and a record it cannot write is reported,
// not dropped in silence (it stays known until the process ends).
func TestPRIndex(t *testing.T) {
	dir := t.TempDir()
	x, err := openPRIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := prRef{Name: "web-pr-1", Repo: "acme/web", Number: 1, HeadSHA: "aaa"}
	if err := x.put(a); err != nil {
		t.Fatal(err)
	}
	a2 := a
	a2.HeadSHA = "bbb"
	if err := x.put(a2); err != nil {
		t.Fatal(err)
	}
	if err := x.close(); err != nil {
		t.Fatal(err)
	}

	y, err := openPRIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := y.get("web-pr-1"); !ok || got != a2 {
		t.Fatalf("after restart: %+v, %v; want the last record %+v", got, ok, a2)
	}

	// A file that can no longer be written (closed under the index).
	if err := y.f.Close(); err != nil {
		t.Fatal(err)
	}
	b := prRef{Name: "web-pr-2", Repo: "acme/web", Number: 2}
	if err := y.put(b); err == nil {
		t.Fatal("no error for a record that was not written")
	}
	if got, ok := y.get("web-pr-2"); !ok || got != b {
		t.Fatalf("record not kept in memory: %+v, %v", got, ok)
	}
	y.f = nil // already closed above
}
