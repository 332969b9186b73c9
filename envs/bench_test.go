package envs

import (
	"os"
	"testing"
)

// BenchmarkParse parses one typical environment file (the sample
// pull-request environment), the unit of work when the store loads a
// repository.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("examples/environments/mattermost-pr-31337.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("environments/mattermost-pr-31337.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshal writes the same environment in canonical form.
func BenchmarkMarshal(b *testing.B) {
	data, err := os.ReadFile("examples/environments/mattermost-pr-31337.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e, err := Parse("", data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEdit applies a one-field change to the hand-written sample.
func BenchmarkEdit(b *testing.B) {
	data, err := os.ReadFile("examples/environments/sales-demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e, err := Parse("", data)
	if err != nil {
		b.Fatal(err)
	}
	e.Spec.Installation.Version = "10.5.1"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Edit(data, e); err != nil {
			b.Fatal(err)
		}
	}
}
