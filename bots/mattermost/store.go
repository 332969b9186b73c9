package mattermost

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
)

// StoreEnvironments reads the environments at the head of an envs/store
// repository, fetching first so a command sees the latest commits.
type StoreEnvironments struct{ Repo *store.Repo }

// Environments returns every environment at the branch head. A file that
// does not parse still holds its name (with no owner), so the name is not
// offered again and only an admin may act on it.
func (s StoreEnvironments) Environments(ctx context.Context) ([]*envs.Environment, error) {
	head, err := s.Repo.Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching the envs repository: %w", err)
	}
	snap, err := s.Repo.Load(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("loading environments at %s: %w", short(head), err)
	}
	out := make([]*envs.Environment, 0, len(snap.Environments))
	for _, e := range snap.Environments {
		if e.Env != nil {
			out = append(out, e.Env)
			continue
		}
		out = append(out, &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: e.Name}})
	}
	return out, nil
}
