package mattermost

import "testing"

// BenchmarkParse parses a typical /cloud create line with the bot's registry.
func BenchmarkParse(b *testing.B) {
	r := newCommands()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Parse("create conf42 --license e20 --test-data --env A=1,B=2 --size miniHA"); err != nil {
			b.Fatal(err)
		}
	}
}
