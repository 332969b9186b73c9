package fake

import (
	"context"
	"fmt"
	"slices"

	"github.com/envwick/envwick/reconciler/platform"
)

var (
	_ platform.Executor       = (*Platform)(nil)
	_ platform.DeletionLocker = (*Platform)(nil)
)

// Exec runs a command in a running installation: it is recorded and
// answered by ExecFunc. Anywhere but running it is platform.ErrNotRunning.
func (p *Platform) Exec(_ context.Context, id, command string, args []string) ([]byte, error) {
	p.mu.Lock()
	in, ok := p.insts[id]
	if !ok {
		p.mu.Unlock()
		return nil, fmt.Errorf("installation %s: %w", id, platform.ErrNotFound)
	}
	if in.State != StateRunning && in.State != StateUpdating {
		p.mu.Unlock()
		return nil, fmt.Errorf("installation %s is %s: %w", id, in.State, platform.ErrNotRunning)
	}
	if p.execLog == nil {
		p.execLog = map[string][][]string{}
	}
	p.execLog[id] = append(p.execLog[id], append([]string{command}, args...))
	inst, fn := clone(in), p.ExecFunc
	p.mu.Unlock()
	if fn == nil {
		return nil, nil
	}
	return fn(inst, command, args)
}

// ExecLog returns the commands run in an installation, each as the command
// followed by its arguments.
func (p *Platform) ExecLog(id string) [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]string, 0, len(p.execLog[id]))
	for _, c := range p.execLog[id] {
		out = append(out, slices.Clone(c))
	}
	return out
}

// SetDeletionLock locks or unlocks an installation's deletion.
func (p *Platform) SetDeletionLock(_ context.Context, id string, locked bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.insts[id]
	if !ok || in.State == StateDeleted {
		return fmt.Errorf("installation %s: %w", id, platform.ErrNotFound)
	}
	in.DeletionLocked = locked
	return nil
}
