package commit

import (
	"context"

	"github.com/envwick/envwick/envs/store"
)

// Repo is the envs repository as the Committer uses it; *store.Repo
// implements it. Commit applies the change at the branch head and pushes;
// the change function may run more than once.
type Repo interface {
	Commit(ctx context.Context, c store.Change) (store.Result, error)
}
