package provisionersim

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// inst is one installation with its place in the progression queue.
type inst struct {
	provisioner.Installation
	due  time.Time // when the next automatic step happens; zero: none
	hidx int       // index in the due heap, -1 when not queued
	// encoded caches the JSON of the installation: most calls are reads,
	// and encoding is most of their cost. Readers fill it under the read
	// lock, hence atomic; every change clears it (changedLocked).
	encoded atomic.Pointer[[]byte]
}

// json returns the installation's JSON, from the cache when it is fresh.
func (in *inst) json() []byte {
	if p := in.encoded.Load(); p != nil {
		return *p
	}
	data := mustJSON(&in.Installation)
	in.encoded.Store(&data)
	return data
}

// changedLocked records that an installation changed: its cached JSON is
// stale and the state needs writing.
func (s *Sim) changedLocked(in *inst) {
	in.encoded.Store(nil)
	s.dirty = true
}

// store is the simulator's state, guarded by Sim.mu.
type store struct {
	order       []*inst          // creation order (the API lists oldest first)
	byID        map[string]*inst //
	liveByName  map[string]*inst // installations not deleted
	liveByDNS   map[string]*inst
	annotations map[string]*provisioner.Annotation // by name, with stable IDs
	webhooks    []*provisioner.Webhook
	clusterInst map[string]*provisioner.ClusterInstallation // by ID
	ciByInst    map[string]*provisioner.ClusterInstallation // active one per installation
	ciOrder     []*provisioner.ClusterInstallation
	execLog     map[string][][]string
	queue       dueHeap
}

func newStore() *store {
	return &store{
		byID: map[string]*inst{}, liveByName: map[string]*inst{}, liveByDNS: map[string]*inst{},
		annotations: map[string]*provisioner.Annotation{}, clusterInst: map[string]*provisioner.ClusterInstallation{},
		ciByInst: map[string]*provisioner.ClusterInstallation{}, execLog: map[string][][]string{},
	}
}

// add indexes a new (or loaded) installation.
func (st *store) add(in *inst) {
	in.hidx = -1
	st.order = append(st.order, in)
	st.byID[in.ID] = in
	if in.DeleteAt == 0 {
		st.liveByName[in.Name] = in
		for _, r := range in.DNSRecords {
			st.liveByDNS[r.DomainName] = in
		}
	}
}

// markDeleted takes a deleted installation out of the live indexes.
func (st *store) markDeleted(in *inst, now time.Time) {
	ms := provisioner.Millis(now)
	in.DeleteAt = ms
	if st.liveByName[in.Name] == in {
		delete(st.liveByName, in.Name)
	}
	for _, r := range in.DNSRecords {
		r.DeleteAt = ms
		if st.liveByDNS[r.DomainName] == in {
			delete(st.liveByDNS, r.DomainName)
		}
	}
	if ci := st.ciByInst[in.ID]; ci != nil {
		ci.DeleteAt, ci.State, ci.IsActive = ms, provisioner.StateDeleted, false
		delete(st.ciByInst, in.ID)
	}
	in.ClusterIDs = nil
}

// reserved reports whether a deleted installation named name was deleted
// less than window ago.
func (st *store) reserved(name string, now time.Time, window time.Duration) bool {
	if window < 0 {
		return false
	}
	cutoff := provisioner.Millis(now.Add(-window))
	for i := len(st.order) - 1; i >= 0; i-- {
		in := st.order[i]
		if in.Name == name && in.DeleteAt != 0 && in.DeleteAt > cutoff {
			return true
		}
	}
	return false
}

// annotation returns the annotation named name, creating it.
func (st *store) annotation(name string) *provisioner.Annotation {
	a := st.annotations[name]
	if a == nil {
		a = &provisioner.Annotation{ID: newID(), Name: name}
		st.annotations[name] = a
	}
	return a
}

// simClusterID is the one cluster every simulated installation lands on.
const simClusterID = "simc1usterenvw1ckpr0v1s10n"

// ensureClusterInstallation gives an installation its cluster installation.
func (st *store) ensureClusterInstallation(in *inst, now time.Time) {
	if st.ciByInst[in.ID] != nil {
		return
	}
	ci := &provisioner.ClusterInstallation{
		ID: newID(), ClusterID: simClusterID, InstallationID: in.ID, Namespace: in.ID,
		State: provisioner.StateStable, CreateAt: provisioner.Millis(now), IsActive: true,
	}
	st.clusterInst[ci.ID] = ci
	st.ciByInst[in.ID] = ci
	st.ciOrder = append(st.ciOrder, ci)
	cluster := simClusterID
	in.ClusterIDs = []*string{&cluster}
}

// idEncoding is the provisioner's ID alphabet: 26 characters of base32.
var idEncoding = base32.NewEncoding("ybndrfg8ejkmcpqxot1uwisza345h769").WithPadding(base32.NoPadding)

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return idEncoding.EncodeToString(b[:])[:26]
}

// validID matches the provisioner's route pattern [A-Za-z0-9]{26}.
func validID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func cloneInstallation(in *provisioner.Installation) provisioner.Installation {
	var out provisioner.Installation
	data, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		panic(fmt.Sprintf("copying installation: %v", err))
	}
	return out
}

func slicesContains(list []string, v string) bool { return slices.Contains(list, v) }

// persisted is the on-disk form of the state.
type persisted struct {
	Version              int
	SavedAt              int64
	Annotations          []*provisioner.Annotation
	Webhooks             []*provisioner.Webhook
	ClusterInstallations []*provisioner.ClusterInstallation
	Faults               Faults
	ClockOffset          Duration
}

// persistedFile is what load reads: persisted with the installations,
// which flush writes from each installation's cached JSON (re-encoding
// them through json.Marshal would validate every byte again).
type persistedFile struct {
	persisted
	Installations []json.RawMessage
}

const stateFile = "provisioner-sim.json"

// load reads the state from DataDir, if there is one.
func (s *Sim) load() error {
	path := filepath.Join(s.opts.DataDir, stateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading simulator state: %w", err)
	}
	var p persistedFile
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("reading simulator state %s: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = time.Duration(p.ClockOffset)
	s.faults = normalizeFaults(p.Faults)
	for _, a := range p.Annotations {
		s.st.annotations[a.Name] = a
	}
	for _, ci := range p.ClusterInstallations {
		s.st.clusterInst[ci.ID] = ci
		s.st.ciOrder = append(s.st.ciOrder, ci)
		if ci.IsActive && ci.DeleteAt == 0 {
			s.st.ciByInst[ci.InstallationID] = ci
		}
	}
	now := s.nowLocked()
	for _, raw := range p.Installations {
		in := &inst{}
		if err := json.Unmarshal(raw, &in.Installation); err != nil {
			return fmt.Errorf("reading simulator state %s: %w", path, err)
		}
		s.st.add(in)
		// Work in flight resumes from the start of its current step.
		s.scheduleLocked(in, now)
	}
	for _, w := range p.Webhooks {
		s.st.webhooks = append(s.st.webhooks, w)
		if w.DeleteAt == 0 {
			s.hooks.add(w)
		}
	}
	return nil
}

// flush writes the state to DataDir if it changed, atomically (a temporary
// file renamed over the old one), so a crash leaves the old or the new
// state, never half of one.
func (s *Sim) flush() error {
	if s.opts.DataDir == "" {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	s.dirty = false
	s.mu.Unlock()

	// Encode under the read lock: API reads go on meanwhile.
	s.mu.RLock()
	p := persisted{
		Version: 1, SavedAt: provisioner.Millis(s.nowLocked()), Faults: s.faults,
		ClockOffset: Duration(s.offset), Webhooks: s.st.webhooks, ClusterInstallations: s.st.ciOrder,
	}
	for _, a := range s.st.annotations {
		p.Annotations = append(p.Annotations, a)
	}
	slices.SortFunc(p.Annotations, func(a, b *provisioner.Annotation) int { return strings.Compare(a.Name, b.Name) })
	head, err := json.Marshal(p)
	var data []byte
	if err == nil {
		data = append(head[:len(head)-1:len(head)-1], `,"Installations":[`...)
		for i, in := range s.st.order {
			if i > 0 {
				data = append(data, ',')
			}
			data = append(data, in.json()...)
		}
		data = append(data, "]}"...)
	}
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("encoding simulator state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.opts.DataDir, stateFile), data); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating simulator data directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".provisioner-sim-*.tmp")
	if err != nil {
		return fmt.Errorf("writing simulator state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing simulator state %s: %w", path, err)
	}
	return nil
}

// Duration is a time.Duration written as a string ("250ms") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string like \"250ms\": %w", err)
	}
	*d = Duration(n)
	return nil
}
