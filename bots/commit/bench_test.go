package commit

import (
	"context"
	"fmt"
	"testing"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs"
)

// BenchmarkCreateUnderQuota measures one create whose quota check walks
// every environment at the head: 10,000 environments of 1,000 owners, the
// files unchanged between creates (so they come from the parse cache). Run
// with: go test -run '^$' -bench CreateUnderQuota -benchmem ./bots/commit/
func BenchmarkCreateUnderQuota(b *testing.B) {
	files := map[string]string{}
	for i := range 10_000 {
		e := chatEnv(fmt.Sprintf("env%05d", i), fmt.Sprintf("user%d", i%1000))
		data, err := envs.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		files[envs.PathFor(e.Name)] = string(data)
	}
	repo := committest.New(b, files)
	c := New(repo, Options{Policy: Policy{MaxEnvironments: 20, MaxUnits: 40}, Logger: quiet})
	ctx := context.Background()
	// The first check parses every file once, as the reconciler's first
	// load does; after that they come from the cache.
	if _, err := c.Create(ctx, chatMeta("warm"), chatEnv("warm", "warm")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		user := fmt.Sprintf("user%d", i%1000)
		if _, err := c.Create(ctx, chatMeta(user), chatEnv(fmt.Sprintf("new%05d", i), user)); err != nil {
			b.Fatal(err)
		}
	}
}
