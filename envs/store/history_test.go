package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/envwick/envwick/envs/store"
)

func TestFileLogFollowsOneFile(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	a, b := envPath("alpha"), envPath("beta")
	c1 := commit(t, r, store.Change{Message: "Create alpha", Apply: writeFile(a, envYAML("alpha", "ann"))})
	commit(t, r, store.Change{Message: "Create beta", Apply: writeFile(b, envYAML("beta", "bob"))})
	c3 := commit(t, r, store.Change{Message: "Give alpha to carl", Author: store.Signature{Name: "Carl", Email: "carl@example.com"},
		Trailers: []store.Trailer{{Key: "Requested-by", Value: "carl"}, {Key: "Command", Value: "/cloud give alpha"}},
		Apply:    writeFile(a, envYAML("alpha", "carl"))})
	c4 := commit(t, r, store.Change{Message: "Touch beta", Apply: writeFile(b, envYAML("beta", "bea"))})

	log, more, err := r.FileLog(ctx, c4.Commit, a, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if more || len(log) != 2 || log[0].Hash != c3.Commit || log[1].Hash != c1.Commit {
		t.Fatalf("FileLog(alpha) = %+v more=%v, want the two commits that changed it, newest first", log, more)
	}
	got := log[0]
	if got.Subject != "Give alpha to carl" || got.Author.Name != "Carl" || got.Trailer("requested-by") != "carl" || got.Trailer("Command") != "/cloud give alpha" || got.Body != "" {
		t.Errorf("commit read as %+v", got)
	}
	if log[1].Trailers != nil {
		t.Errorf("a commit without trailers read trailers %+v", log[1].Trailers)
	}

	if log, more, _ := r.FileLog(ctx, c4.Commit, a, 1, 0); len(log) != 1 || !more {
		t.Errorf("FileLog limit 1 = %d commits more=%v, want 1 and more", len(log), more)
	}
	if log, more, _ := r.FileLog(ctx, c4.Commit, a, 0, 1); len(log) != 0 || !more {
		t.Errorf("FileLog walking 1 commit = %d commits more=%v, want 0 and more", len(log), more)
	}
	if _, _, err := r.FileLog(ctx, c4.Commit, envPath("nope"), 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FileLog of a missing file: %v, want ErrNotFound", err)
	}

	diff, err := r.Diff(ctx, c3.Commit, c4.Commit)
	if err != nil || len(diff) != 1 || diff[0].Path != b || diff[0].From == "" || diff[0].To == "" || diff[0].From == diff[0].To {
		t.Fatalf("Diff = %+v, %v; want beta changed", diff, err)
	}
	data, err := r.ReadBlob(ctx, diff[0].To)
	if err != nil || string(data) != string(envYAML("beta", "bea")) {
		t.Errorf("ReadBlob = %q, %v", data, err)
	}
	files, err := r.ListFiles(ctx, c4.Commit, "environments")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if !slices.Equal(paths, []string{a, b}) {
		t.Errorf("ListFiles = %v", paths)
	}
	if files, err := r.ListFiles(ctx, c4.Commit, "status"); err != nil || len(files) != 0 {
		t.Errorf("ListFiles of a missing folder = %v, %v", files, err)
	}
}

func TestCommitInfoTrailers(t *testing.T) {
	r := open(t, store.Options{})
	for _, tc := range []struct {
		name, message string
		trailers      []store.Trailer
		body          string
	}{
		{"subject only", "Hibernate x", nil, ""},
		{"body, no trailers", "Hibernate x\n\nIt was idle: see <b>this</b>.", nil, "It was idle: see <b>this</b>."},
		{"trailers", "Create x\n\nRequested-by: ann\nSource: https://github.com/o/r/pull/1", []store.Trailer{{"Requested-by", "ann"}, {"Source", "https://github.com/o/r/pull/1"}}, ""},
		{"body and trailers", "Create x\n\nBecause.\n\nCommand: /cloud create x", []store.Trailer{{"Command", "/cloud create x"}}, "Because."},
		{"last paragraph is prose", "Create x\n\nRequested-by: ann\nand some words", nil, "Requested-by: ann\nand some words"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := commit(t, r, store.Change{Message: tc.message, Apply: writeFile(envPath("x"), []byte(tc.name))})
			info, err := r.CommitInfo(ctxT(t), res.Commit)
			if err != nil {
				t.Fatal(err)
			}
			if info.Subject != tc.message[:len(info.Subject)] || !slices.Equal(info.Trailers, tc.trailers) || info.Body != tc.body {
				t.Errorf("CommitInfo = subject %q body %q trailers %+v; want body %q trailers %+v", info.Subject, info.Body, info.Trailers, tc.body, tc.trailers)
			}
		})
	}
}
