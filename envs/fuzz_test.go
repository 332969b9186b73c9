package envs

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that it returns either
// an environment or Problems, and that every problem has a message.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{validFile, handFile, "", "a: [", "- x", "spec: {owner: {github: x}}", "apiVersion: &a x\nkind: *a\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		e, err := Parse("environments/pr-1234.yaml", []byte(data))
		if err == nil {
			if e == nil {
				t.Fatal("no environment and no error")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not Problems: %v", err)
		}
		for _, p := range ps {
			if p.Message == "" || p.File == "" {
				t.Fatalf("problem without message or file: %+v", p)
			}
		}
	})
}

// FuzzEdit checks that whatever the original file holds, Edit's result
// reads back as exactly the environment it was given.
func FuzzEdit(f *testing.F) {
	for _, seed := range []string{validFile, handFile, "", "spec:\n  owner: [\n", "apiVersion: x\nspec:\n  source: {}\n"} {
		f.Add(seed)
	}
	e, err := Parse("", []byte(handFile))
	if err != nil {
		f.Fatal(err)
	}
	e.Spec.Installation.Version = "10.6.0"
	want, err := Marshal(e)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, original string) {
		out, err := Edit([]byte(original), e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("", out)
		if err != nil {
			t.Fatalf("Edit wrote a file that does not parse: %v\n%s", err, out)
		}
		if got, _ := Marshal(back); string(got) != string(want) {
			t.Fatalf("Edit wrote a different environment:\n%s", lineDiff(string(want), string(got)))
		}
	})
}
