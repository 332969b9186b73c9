package store

import (
	"io"
	"sync"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// lockedStorage serialises every call into a go-git storage. go-git's
// filesystem storage keeps unguarded maps (pack indexes, open packfiles) that
// fetches update while loads read, and a Repo is used from many goroutines:
// the per-branch writers, Sync, Load and the bots' handlers. Locking each
// call, rather than each whole operation, lets a Load read blobs while a push
// waits on the network.
type lockedStorage struct {
	mu sync.Mutex
	s  *filesystem.Storage
}

var (
	_ storage.Storer        = (*lockedStorage)(nil)
	_ storer.PackfileWriter = (*lockedStorage)(nil)
)

func (l *lockedStorage) NewEncodedObject() plumbing.EncodedObject {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.NewEncodedObject()
}

func (l *lockedStorage) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetEncodedObject(o)
}

func (l *lockedStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.EncodedObject(t, h)
}

func (l *lockedStorage) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.IterEncodedObjects(t)
}

func (l *lockedStorage) HasEncodedObject(h plumbing.Hash) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.HasEncodedObject(h)
}

func (l *lockedStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.EncodedObjectSize(h)
}

func (l *lockedStorage) AddAlternate(remote string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.AddAlternate(remote)
}

func (l *lockedStorage) SetReference(r *plumbing.Reference) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetReference(r)
}

func (l *lockedStorage) CheckAndSetReference(n, old *plumbing.Reference) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.CheckAndSetReference(n, old)
}

func (l *lockedStorage) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Reference(n)
}

func (l *lockedStorage) IterReferences() (storer.ReferenceIter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.IterReferences()
}

func (l *lockedStorage) RemoveReference(n plumbing.ReferenceName) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.RemoveReference(n)
}

func (l *lockedStorage) CountLooseRefs() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.CountLooseRefs()
}

func (l *lockedStorage) PackRefs() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.PackRefs()
}

func (l *lockedStorage) SetShallow(h []plumbing.Hash) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetShallow(h)
}

func (l *lockedStorage) Shallow() ([]plumbing.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Shallow()
}

func (l *lockedStorage) SetIndex(i *index.Index) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetIndex(i)
}

func (l *lockedStorage) Index() (*index.Index, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Index()
}

func (l *lockedStorage) Config() (*config.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Config()
}

func (l *lockedStorage) SetConfig(c *config.Config) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetConfig(c)
}

func (l *lockedStorage) Module(name string) (storage.Storer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Module(name)
}

// PackfileWriter lets fetches store the received packfile as is instead of
// exploding it into loose objects. Writing goes to a temporary file; only
// Close, which registers the new pack with the storage, needs the lock.
func (l *lockedStorage) PackfileWriter() (io.WriteCloser, error) {
	l.mu.Lock()
	w, err := l.s.PackfileWriter()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &lockedPackWriter{w: w, mu: &l.mu}, nil
}

type lockedPackWriter struct {
	w  io.WriteCloser
	mu *sync.Mutex
}

func (p *lockedPackWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *lockedPackWriter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Close()
}

// Close releases the files the storage keeps open.
func (l *lockedStorage) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Close()
}

// swap closes the storage, runs change on its files and opens it again.
func (l *lockedStorage) swap(change func() error, reopen func() *filesystem.Storage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.s.Close(); err != nil {
		return err
	}
	err := change()
	l.s = reopen()
	return err
}
