package reconciler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/envwick/envwick/envs"
)

// registry is an in-memory ImageResolver: tags by reference.
type registry struct {
	mu    sync.Mutex
	tags  map[string]string
	calls int
}

func (g *registry) Resolve(_ context.Context, ref string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if d, ok := g.tags[ref]; ok {
		return d, nil
	}
	return "", fmt.Errorf("%s: %w", ref, ErrImageNotFound)
}

func (g *registry) push(ref, digest string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tags == nil {
		g.tags = map[string]string{}
	}
	g.tags[ref] = digest
}

const testImage = "mattermost/mattermost-enterprise-edition:10.5.0"

func condition(st *Status, typ string) (string, string) {
	c := apimeta.FindStatusCondition(st.Status.Conditions, typ)
	if c == nil {
		return "", ""
	}
	return string(c.Status), c.Reason
}

func TestCreateWaitsForTheImage(t *testing.T) {
	h := newHarness(t)
	reg := &registry{}
	r := h.reconciler(func(c *Config) { c.Images = reg })
	h.put(env("pr-1"))
	h.pass(r)
	if n := len(h.owned()); n != 0 {
		t.Fatalf("%d installations created before the image exists", n)
	}
	st := h.readStatus("pr-1")
	if s, why := condition(st, meta.ReconcilingCondition); s != "True" || why != envs.ReasonWaitingForImage {
		t.Fatalf("Reconciling %s %s, want True WaitingForImage", s, why)
	}
	if s, why := condition(st, meta.ReadyCondition); s != "False" || why != envs.ReasonWaitingForImage {
		t.Fatalf("Ready %s %s, want False WaitingForImage", s, why)
	}
	notes := h.notes.take()
	if k := kinds(notes); k["pr-1"] != TransitionWaitingForImage || !strings.Contains(notes[0].Message, testImage) {
		t.Fatalf("transitions %+v, want one waiting-for-image naming %s", notes, testImage)
	}
	// Looked up again only after the backoff, and said once.
	calls := reg.calls
	h.pass(r)
	if reg.calls != calls || len(h.notes.take()) != 0 {
		t.Fatalf("a pass within the backoff asked the registry again (%d calls) or told again", reg.calls-calls)
	}

	// The image is pushed: after the backoff the installation is created
	// and the digest recorded.
	reg.push(testImage, "sha256:aaa")
	h.clock.Advance(11 * time.Second)
	res := h.pass(r)
	if it := itemOf(res.Plan, "pr-1"); it.Action != ActionCreate {
		t.Fatalf("plan %+v, want the create", it)
	}
	h.settle()
	h.pass(r)
	st = h.readStatus("pr-1")
	if st.Status.Image == nil || st.Status.Image.Digest != "sha256:aaa" || st.Status.Image.WaitingSince != nil {
		t.Fatalf("image status %+v", st.Status.Image)
	}
	if s, why := condition(st, meta.ReadyCondition); s != "True" {
		t.Fatalf("Ready %s %s after the image came", s, why)
	}
	if owned := h.owned(); len(owned) != 1 || owned[0].MattermostEnv.Strings()[ImageDigestEnvVar] != "sha256:aaa" {
		t.Fatalf("installation env %v", owned)
	}

	// The tag moves: an update.
	reg.push(testImage, "sha256:bbb")
	h.clock.Advance(6 * time.Minute)
	res = h.pass(r)
	it := itemOf(res.Plan, "pr-1")
	if it.Action != ActionUpdate || it.Patch == nil || it.Patch.Env[ImageDigestEnvVar] != "sha256:bbb" {
		t.Fatalf("plan after the tag moved: %+v", it)
	}
	h.settle()
	h.pass(r)
	if st := h.readStatus("pr-1"); st.Status.Image.Digest != "sha256:bbb" {
		t.Fatalf("digest after the move %+v", st.Status.Image)
	}
}

func TestMissingImageStallsAfterTheDeadline(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler(func(c *Config) { c.Images = &registry{} })
	h.put(env("pr-2"))
	h.pass(r)
	h.notes.take()
	h.clock.Advance(31 * time.Minute)
	h.pass(r)
	st := h.readStatus("pr-2")
	if s, why := condition(st, meta.StalledCondition); s != "True" || why != envs.ReasonImageNotFound {
		t.Fatalf("Stalled %s %s, want True ImageNotFound", s, why)
	}
	if s, why := condition(st, meta.ReadyCondition); s != "False" || why != envs.ReasonImageNotFound {
		t.Fatalf("Ready %s %s", s, why)
	}
	notes := h.notes.take()
	if len(notes) != 1 || notes[0].Kind != TransitionFailed || notes[0].Reason != envs.ReasonImageNotFound || !strings.Contains(notes[0].Message, testImage) {
		t.Fatalf("transitions %+v, want one failure naming the image", notes)
	}
	if len(h.owned()) != 0 {
		t.Fatal("an installation was created without its image")
	}
}

// Turning the check on for installations created before it changes none
// of them; an update waits for its new image while the old one runs.
func TestImageCheckOnARunningFleet(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("old"))
	h.pass(r)
	h.settle()
	h.pass(r)
	reg := &registry{}
	reg.push(testImage, "sha256:ccc")
	r = h.reconciler(func(c *Config) { c.Images = reg })
	if res := h.pass(r); res.Plan.Changes() != 0 {
		t.Fatalf("turning the check on changes %d things: %+v", res.Plan.Changes(), res.Plan.Items)
	}
	h.put(env("old", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	res := h.pass(r)
	if it := itemOf(res.Plan, "old"); it.Action != ActionNone || !it.Waiting {
		t.Fatalf("update without its image: %+v", it)
	}
	if s, why := condition(h.readStatus("old"), meta.ReconcilingCondition); s != "True" || why != envs.ReasonWaitingForImage {
		t.Fatalf("Reconciling %s %s", s, why)
	}
}
