package commit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

var policyNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

type envOpt func(*envs.Environment)

// chatEnv is an environment a Mattermost user asked for.
func chatEnv(name, user string, opts ...envOpt) *envs.Environment {
	e := &envs.Environment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: envs.EnvironmentSpec{
			Owner:        envs.Owner{Mattermost: user},
			Source:       envs.Source{Chat: &envs.ChatSource{User: user, UserID: "id-" + user}},
			Installation: envs.Installation{Version: "10.5.0"},
		},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// prEnv is the environment of pull request number of org/app by author.
func prEnv(number int, author string, opts ...envOpt) *envs.Environment {
	e := &envs.Environment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-pr-%d", number)},
		Spec: envs.EnvironmentSpec{
			Owner:        envs.Owner{GitHub: author},
			Source:       envs.Source{PullRequest: &envs.PullRequestSource{Repository: "org/app", Number: number, HeadSHA: "abc1234"}},
			Installation: envs.Installation{Version: "abc1234"},
		},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func size(s string) envOpt { return func(e *envs.Environment) { e.Spec.Installation.Size = s } }
func kept() envOpt         { return func(e *envs.Environment) { e.Spec.Lifecycle.Keep = true } }
func locked() envOpt       { return func(e *envs.Environment) { e.Spec.Lifecycle.DeletionLocked = true } }
func license(l string) envOpt {
	return func(e *envs.Environment) { e.Spec.Installation.License = l }
}

// licenseNames is a configured set of license names.
type licenseNames []string

func (l licenseNames) Names() []string { return l }
func sharedUpdates(e *envs.Environment) {
	e.Spec.Sharing = &envs.Sharing{Shared: true, AllowUpdates: true}
}
func ttl(d time.Duration) envOpt {
	return func(e *envs.Environment) { e.Spec.Lifecycle.TTL = envs.NewDuration(d) }
}
func expires(d time.Duration) envOpt {
	return func(e *envs.Environment) { e.Spec.Lifecycle.ExpiresAt = &metav1.Time{Time: policyNow.Add(d)} }
}

func seed(t *testing.T, es ...*envs.Environment) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, e := range es {
		data, err := envs.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		files[envs.PathFor(e.Name)] = string(data)
	}
	return files
}

func chatMeta(user string) Meta {
	return Meta{Actor: Person{Name: user}, Login: user, Requester: Requester{Mattermost: user, MattermostID: "id-" + user}}
}

func ghMeta(login string, number int) Meta {
	return Meta{Actor: Person{Name: login}, Login: login,
		Requester: Requester{GitHub: login, PullRequest: &PullRequestRef{Repository: "org/app", Number: number}}}
}

var quiet = slog.New(slog.DiscardHandler)

func admin(m Meta) Meta { m.Requester.Admin = true; return m }

func TestPolicy(t *testing.T) {
	ctx := context.Background()
	create := func(m Meta, e *envs.Environment) func(*Committer) (Result, error) {
		return func(c *Committer) (Result, error) { return c.Create(ctx, m, e) }
	}
	put := func(m Meta, e *envs.Environment) func(*Committer) (Result, error) {
		return func(c *Committer) (Result, error) { return c.Put(ctx, m, e) }
	}
	update := func(m Meta, name string, muts ...Mutation) func(*Committer) (Result, error) {
		return func(c *Committer) (Result, error) { return c.Update(ctx, m, name, muts...) }
	}
	del := func(m Meta, name string) func(*Committer) (Result, error) {
		return func(c *Committer) (Result, error) { return c.Delete(ctx, m, name) }
	}
	extend := func(m Meta, name string, d time.Duration) func(*Committer) (Result, error) {
		return func(c *Committer) (Result, error) { return c.Update(ctx, m, name, c.Extension(d)) }
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		have   []*envs.Environment
		run    func(*Committer) (Result, error)
		// want is the refusal; nil when the change is committed.
		want *PolicyError
	}{
		// Per-owner quota: a count, and size units.
		{name: "quota reached", policy: Policy{MaxEnvironments: 2},
			have: []*envs.Environment{chatEnv("a1", "alice"), chatEnv("a2", "alice"), chatEnv("b1", "bob")},
			run:  create(chatMeta("alice"), chatEnv("a3", "alice")),
			want: &PolicyError{Kind: KindQuota, Name: "a3", Owner: envs.Owner{Mattermost: "alice"}, Limit: 2, Used: 2, Environments: []string{"a1", "a2"}}},
		{name: "quota counts neither others nor pull requests", policy: Policy{MaxEnvironments: 2},
			have: []*envs.Environment{chatEnv("a1", "alice"), chatEnv("b1", "bob"), chatEnv("b2", "bob"),
				prEnv(1, "alice", func(e *envs.Environment) { e.Spec.Owner.Mattermost = "alice" })},
			run: create(chatMeta("alice"), chatEnv("a2", "alice"))},
		{name: "quota matches the chat user ID", policy: Policy{MaxEnvironments: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", func(e *envs.Environment) { e.Spec.Owner.Mattermost = "alice.old" })},
			run:  create(chatMeta("alice"), chatEnv("a2", "alice")),
			want: &PolicyError{Kind: KindQuota, Name: "a2", Owner: envs.Owner{Mattermost: "alice"}, Limit: 1, Used: 1, Environments: []string{"a1"}}},
		{name: "an admin is not bound by the quota", policy: Policy{MaxEnvironments: 1},
			have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  create(admin(chatMeta("alice")), chatEnv("a2", "alice"))},
		{name: "negative is no limit", policy: Policy{MaxEnvironments: -1, MaxUnits: -1},
			have: []*envs.Environment{chatEnv("a1", "alice"), chatEnv("a2", "alice"), chatEnv("a3", "alice"), chatEnv("a4", "alice", size("25000users"))},
			run:  create(chatMeta("alice"), chatEnv("a5", "alice"))},
		{name: "units: miniHA counts two", policy: Policy{MaxUnits: 4},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA")), chatEnv("a2", "alice")},
			run:  create(chatMeta("alice"), chatEnv("a3", "alice", size("miniHA"))),
			want: &PolicyError{Kind: KindUnits, Name: "a3", Owner: envs.Owner{Mattermost: "alice"}, Limit: 4, Used: 3, Asked: 2, Environments: []string{"a1", "a2"}}},
		{name: "units: the default size counts as its size", policy: Policy{MaxUnits: 4},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA")), chatEnv("a2", "alice")},
			run:  create(chatMeta("alice"), chatEnv("a3", "alice"))},
		{name: "units: growing an environment", policy: Policy{MaxUnits: 4},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA")), chatEnv("a2", "alice")},
			run:  update(chatMeta("alice"), "a2", SetSize("1000users")),
			want: &PolicyError{Kind: KindUnits, Name: "a2", Owner: envs.Owner{Mattermost: "alice"}, Limit: 4, Used: 2, Asked: 4, Environments: []string{"a1"}}},
		{name: "units: shrinking is always allowed", policy: Policy{MaxUnits: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA")), chatEnv("a2", "alice", size("1000users"))},
			run:  update(chatMeta("alice"), "a2", SetSize("miniSingleton"))},
		{name: "units: a configured table", policy: Policy{MaxUnits: 3, Units: map[string]int{"miniSingleton": 1, "miniHA": 1}},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA")), chatEnv("a2", "alice", size("miniHA"))},
			run:  create(chatMeta("alice"), chatEnv("a3", "alice", size("miniHA")))},
		{name: "units: a size not in the table counts as its largest", policy: Policy{MaxUnits: 3, Units: map[string]int{"miniSingleton": 1, "miniHA": 2}},
			have: []*envs.Environment{chatEnv("a1", "alice", size("miniHA"))},
			run:  create(chatMeta("alice"), chatEnv("a2", "alice", size("1000users"))),
			want: &PolicyError{Kind: KindUnits, Name: "a2", Owner: envs.Owner{Mattermost: "alice"}, Limit: 3, Used: 2, Asked: 2, Environments: []string{"a1"}}},

		// Pull-request environments per author.
		{name: "pull request quota reached", policy: Policy{MaxPullRequestEnvironments: 2},
			have: []*envs.Environment{prEnv(1, "jane"), prEnv(2, "jane"), prEnv(3, "joe"), chatEnv("j1", "jane", func(e *envs.Environment) { e.Spec.Owner.GitHub = "jane" })},
			run:  put(ghMeta("octo", 4), prEnv(4, "jane")),
			want: &PolicyError{Kind: KindPullRequestQuota, Name: "app-pr-4", Owner: envs.Owner{GitHub: "jane"}, Limit: 2, Used: 2, Environments: []string{"app-pr-1", "app-pr-2"}}},
		{name: "a push to an existing pull request environment is no new one", policy: Policy{MaxPullRequestEnvironments: 2},
			have: []*envs.Environment{prEnv(1, "jane"), prEnv(2, "jane")},
			run:  update(ghMeta("jane", 2), "app-pr-2", SetPullRequestHead("def5678"))},
		{name: "pull requests do not count toward the chat quota", policy: Policy{MaxEnvironments: 1, MaxPullRequestEnvironments: 3},
			have: []*envs.Environment{chatEnv("j1", "jane", func(e *envs.Environment) { e.Spec.Owner.GitHub = "jane" }), prEnv(1, "jane")},
			run:  put(ghMeta("jane", 2), prEnv(2, "jane"))},

		// Owner or admin for every change to an existing environment.
		{name: "someone else's delete", have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  del(chatMeta("carol"), "a1"),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "someone else's update", have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  update(chatMeta("carol"), "a1", SetSize("miniHA")),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "taking over someone else's environment", have: []*envs.Environment{chatEnv("app-pr-1", "alice")},
			run:  put(ghMeta("jane", 1), prEnv(1, "jane")),
			want: &PolicyError{Kind: KindNotOwner, Name: "app-pr-1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"app-pr-1"}}},
		{name: "an admin may change anyone's", have: []*envs.Environment{chatEnv("a1", "alice")},
			run: del(admin(chatMeta("root")), "a1")},
		{name: "through its pull request, whoever owns it", have: []*envs.Environment{prEnv(1, "jane")},
			run: del(ghMeta("maintainer", 1), "app-pr-1")},
		{name: "not through another pull request", have: []*envs.Environment{prEnv(1, "jane")},
			run:  del(ghMeta("maintainer", 2), "app-pr-1"),
			want: &PolicyError{Kind: KindNotOwner, Name: "app-pr-1", Owner: envs.Owner{GitHub: "jane"}, Environments: []string{"app-pr-1"}}},
		{name: "the owner by GitHub login", have: []*envs.Environment{prEnv(1, "jane")},
			run: update(Meta{Requester: Requester{GitHub: "JANE"}}, "app-pr-1", Keep(true))},

		// Kept cap.
		{name: "kept cap reached", policy: Policy{MaxKept: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", kept()), chatEnv("a2", "alice")},
			run:  update(chatMeta("alice"), "a2", Keep(true)),
			want: &PolicyError{Kind: KindKept, Name: "a2", Owner: envs.Owner{Mattermost: "alice"}, Limit: 1, Used: 1, Environments: []string{"a1"}}},
		{name: "keeping one kept already", policy: Policy{MaxKept: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", kept()), chatEnv("a2", "alice", kept())},
			run:  update(chatMeta("alice"), "a2", Keep(true), SetSize("miniHA"))},
		{name: "an admin keeps any number", policy: Policy{MaxKept: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", kept()), chatEnv("a2", "alice")},
			run:  update(admin(chatMeta("root")), "a2", Keep(true))},

		// Deletion-lock cap.
		{name: "deletion-lock cap reached", policy: Policy{},
			have: []*envs.Environment{chatEnv("a1", "alice", locked()), chatEnv("a2", "alice"), chatEnv("b1", "bob", locked())},
			run:  update(chatMeta("alice"), "a2", DeletionLock(true)),
			want: &PolicyError{Kind: KindDeletionLocked, Name: "a2", Owner: envs.Owner{Mattermost: "alice"}, Limit: 1, Used: 1, Environments: []string{"a1"}}},
		{name: "deletion-lock cap configured", policy: Policy{MaxDeletionLocked: 2},
			have: []*envs.Environment{chatEnv("a1", "alice", locked()), chatEnv("a2", "alice")},
			run:  update(chatMeta("alice"), "a2", DeletionLock(true))},
		{name: "unlocking is always allowed", policy: Policy{MaxDeletionLocked: 1},
			have: []*envs.Environment{chatEnv("a1", "alice", locked()), chatEnv("a2", "alice", locked())},
			run:  update(chatMeta("alice"), "a2", DeletionLock(false))},
		{name: "an admin locks any number", policy: Policy{},
			have: []*envs.Environment{chatEnv("a1", "alice", locked()), chatEnv("a2", "alice")},
			run:  update(admin(chatMeta("root")), "a2", DeletionLock(true))},

		// License names: only those configured, whoever asks.
		{name: "an unknown license", policy: Policy{Licenses: licenseNames{"enterprise", "e20"}},
			run:  create(admin(chatMeta("alice")), chatEnv("a1", "alice", license("e10"))),
			want: &PolicyError{Kind: KindLicense, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, License: "e10", Available: []string{"e20", "enterprise"}}},
		{name: "a configured license", policy: Policy{Licenses: licenseNames{"enterprise", "e20"}},
			run: create(chatMeta("alice"), chatEnv("a1", "alice", license("e20")))},
		{name: "a license left as it is is not checked", policy: Policy{Licenses: licenseNames{"e20"}},
			have: []*envs.Environment{chatEnv("a1", "alice", license("e10"))},
			run:  update(chatMeta("alice"), "a1", SetSize("miniHA"))},
		{name: "no licenses configured: any name", policy: Policy{},
			run: create(chatMeta("alice"), chatEnv("a1", "alice", license("e10")))},

		// Extension cap: one extension, and the lifetime it gives.
		{name: "one extension too long", policy: Policy{MaxExtension: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(day))},
			run:  extend(chatMeta("alice"), "a1", 8*day),
			want: &PolicyError{Kind: KindExtension, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day}},
		{name: "one extension too long, without an end of life", policy: Policy{MaxExtension: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  extend(chatMeta("alice"), "a1", 8*day),
			want: &PolicyError{Kind: KindExtension, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day}},
		{name: "a bot's own expiry moved too far at once", policy: Policy{MaxExtension: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(day))},
			run:  update(chatMeta("alice"), "a1", Extend(8*day, policyNow, 0)),
			want: &PolicyError{Kind: KindExtension, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day, Until: policyNow.Add(9 * day)}},
		{name: "someone else's extension is not theirs before it is too long", policy: Policy{MaxExtension: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  extend(chatMeta("carol"), "a1", 8*day),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "an expiry too far from now", policy: Policy{MaxLifetime: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(6*day))},
			run:  extend(chatMeta("alice"), "a1", 2*day),
			want: &PolicyError{Kind: KindLifetime, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day, Until: policyNow.Add(8 * day)}},
		{name: "an expiry within both", policy: Policy{MaxExtension: 7 * day, MaxLifetime: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(6*day))},
			run:  extend(chatMeta("alice"), "a1", day)},
		{name: "a time to live past the lifetime", policy: Policy{MaxLifetime: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", ttl(5*day))},
			run:  extend(chatMeta("alice"), "a1", 3*day),
			want: &PolicyError{Kind: KindLifetime, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day}},
		{name: "a time to live grown too much at once", policy: Policy{MaxExtension: 2 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", ttl(5*day))},
			run:  extend(chatMeta("alice"), "a1", 3*day),
			want: &PolicyError{Kind: KindExtension, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 2 * day, Duration: 3 * day}},
		{name: "from the fleet's default time to live", policy: Policy{DefaultTTL: 2 * day, MaxLifetime: 5 * day},
			have: []*envs.Environment{chatEnv("a1", "alice")},
			run:  extend(chatMeta("alice"), "a1", 3*day)},
		// Sharing: with updates allowed, anyone may change what it runs,
		// and nothing else.
		{name: "shared for updates: someone else's update", have: []*envs.Environment{chatEnv("a1", "alice", sharedUpdates)},
			run: update(chatMeta("carol"), "a1", SetSize("miniHA"), Restart(policyNow), Retry())},
		{name: "shared for updates: someone else's delete", have: []*envs.Environment{chatEnv("a1", "alice", sharedUpdates)},
			run:  del(chatMeta("carol"), "a1"),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "shared for updates: someone else's hibernate", have: []*envs.Environment{chatEnv("a1", "alice", sharedUpdates)},
			run:  update(chatMeta("carol"), "a1", SetState(envs.StateHibernated)),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "shared for updates: someone else's unshare", have: []*envs.Environment{chatEnv("a1", "alice", sharedUpdates)},
			run:  update(chatMeta("carol"), "a1", Share(false, false)),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "shared without updates: someone else's update",
			have: []*envs.Environment{chatEnv("a1", "alice", func(e *envs.Environment) { e.Spec.Sharing = &envs.Sharing{Shared: true} })},
			run:  update(chatMeta("carol"), "a1", SetSize("miniHA")),
			want: &PolicyError{Kind: KindNotOwner, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, Environments: []string{"a1"}}},
		{name: "the extension cap binds admins too", policy: Policy{MaxExtension: 7 * day},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(day))},
			run:  extend(admin(chatMeta("root")), "a1", 8*day),
			want: &PolicyError{Kind: KindExtension, Name: "a1", Owner: envs.Owner{Mattermost: "alice"}, MaxDuration: 7 * day, Duration: 8 * day}},
		{name: "shortening is no extension", policy: Policy{MaxExtension: time.Hour, MaxLifetime: time.Hour},
			have: []*envs.Environment{chatEnv("a1", "alice", expires(20*day))},
			run: update(chatMeta("alice"), "a1", func(e *envs.Environment) error {
				e.Spec.Lifecycle.ExpiresAt = &metav1.Time{Time: policyNow.Add(10 * day)}
				return nil
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t, seed(t, tc.have...))
			c := New(repo, Options{Policy: tc.policy, Now: func() time.Time { return policyNow }, Logger: quiet})
			res, err := tc.run(c)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !res.Changed {
					t.Fatalf("nothing committed: %+v", res)
				}
				return
			}
			var got *PolicyError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v; want a *PolicyError of kind %s", err, tc.want.Kind)
			}
			if !got.Until.Equal(tc.want.Until) {
				t.Errorf("Until = %s; want %s", got.Until, tc.want.Until)
			}
			got.Until, tc.want.Until = time.Time{}, time.Time{}
			if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *tc.want) {
				t.Errorf("refusal\n got %+v\nwant %+v", *got, *tc.want)
			}
			if got.Error() == "" || strings.Contains(got.Error(), "%!") {
				t.Errorf("message %q", got.Error())
			}
			if n := count(t, repo); n != 0 {
				t.Errorf("%d commits; want none", n)
			}
		})
	}
}

func TestPolicyDefaults(t *testing.T) {
	p := Policy{}.WithDefaults()
	if p.MaxEnvironments != 3 || p.MaxUnits != 8 || p.MaxPullRequestEnvironments != 5 || p.MaxKept != 1 ||
		p.MaxExtension != 7*day || p.MaxLifetime != 30*day || p.DefaultSize != "miniSingleton" {
		t.Errorf("defaults %+v", p)
	}
	for size, want := range map[string]int{"": 1, "miniSingleton": 1, "miniHA": 2, "1000users": 4, "provisionerXL-3": 32} {
		if got := p.UnitsOf(size); got != want {
			t.Errorf("UnitsOf(%q) = %d; want %d", size, got, want)
		}
	}
	for _, s := range envs.Sizes() {
		if _, ok := p.Units[s]; !ok {
			t.Errorf("size %s has no default units", s)
		}
	}
	if err := (Policy{Units: map[string]int{"huge": 1}}).Validate(); err == nil {
		t.Error("a unit table naming no size was accepted")
	}
	if err := (Policy{Units: map[string]int{"miniHA": -1}}).Validate(); err == nil {
		t.Error("negative units were accepted")
	}
}

// TestConcurrentCreatesHoldTheQuota: twelve creates at once by one person
// with a quota of three give three environments; the other nine are refused
// by the quota, none by anything else.
func TestConcurrentCreatesHoldTheQuota(t *testing.T) {
	repo := newRepo(t, nil)
	c := New(repo, Options{Policy: Policy{MaxEnvironments: 3}, Logger: quiet})
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Create(context.Background(), chatMeta("alice"), chatEnv(fmt.Sprintf("a%d", i), "alice"))
		})
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		var pe *PolicyError
		switch {
		case err == nil:
		case errors.As(err, &pe) && pe.Kind == KindQuota && pe.Limit == 3 && pe.Used == 3:
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	files := 0
	for i := range errs {
		if _, ok := repo.File(t, envs.PathFor(fmt.Sprintf("a%d", i))); ok {
			files++
		}
	}
	if files != 3 || refused != 9 {
		t.Errorf("%d environment files and %d quota refusals; want 3 and 9", files, refused)
	}
}

// countingRepo counts how often change functions run.
type countingRepo struct {
	Repo
	applies atomic.Int64
}

func (r *countingRepo) Commit(ctx context.Context, ch store.Change) (store.Result, error) {
	apply := ch.Apply
	ch.Apply = func(tx *store.Tx) error { r.applies.Add(1); return apply(tx) }
	return r.Repo.Commit(ctx, ch)
}

// TestQuotaRecheckedOnNewerHead: a clone whose head is behind passes the
// quota there, its push is rejected, and on the newer head (where another
// writer added one of the owner's environments) the quota refuses.
func TestQuotaRecheckedOnNewerHead(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bare := gittest.InitBare(t, root, "envs.git")
	url := filepath.Join(root, "envs.git")
	a := committest.Open(t, store.Options{URL: url, Dir: t.TempDir()}, bare, seed(t, chatEnv("a1", "alice")))
	b := committest.Open(t, store.Options{URL: url, Dir: t.TempDir()}, bare, nil)
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := New(b, Options{Logger: quiet}).Create(ctx, chatMeta("alice"), chatEnv("a2", "alice")); err != nil {
		t.Fatal(err)
	}

	// a has not fetched: at its head alice has one environment.
	counting := &countingRepo{Repo: a}
	c := New(counting, Options{Policy: Policy{MaxEnvironments: 2}, Logger: quiet})
	_, err := c.Create(ctx, chatMeta("alice"), chatEnv("a3", "alice"))
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Kind != KindQuota || pe.Used != 2 || !slices.Equal(pe.Environments, []string{"a1", "a2"}) {
		t.Fatalf("err = %v; want the quota refusal counting a1 and a2", err)
	}
	if n := counting.applies.Load(); n < 2 {
		t.Errorf("the change ran %d times; want a first run on the old head and a second on the new one", n)
	}
	if _, ok := a.File(t, envs.PathFor("a3")); ok {
		t.Error("a3 was committed")
	}
}

func TestHousekeep(t *testing.T) {
	ctx := context.Background()
	handWritten := `# Owned by the platform team; do not remove.
apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: idle
spec:
  owner:
    github: alice # the owner
  installation:
    version: "10.5.0"
`
	repo := newRepo(t, map[string]string{
		envs.PathFor("idle"):   handWritten,
		envs.PathFor("broken"): "spec: [\n",
		envs.PathFor("old"):    strings.ReplaceAll(handWritten, "name: idle", "name: old"),
	})
	// The strictest policy binds people, never housekeeping.
	c := New(repo, Options{Policy: Policy{MaxEnvironments: 1, MaxKept: 1}, Logger: quiet})
	const rule = "idle 7d, last activity 2026-11-13T10:02Z"
	res, err := c.Housekeep(ctx, Housekeeping{Name: "idle", Rule: rule, Message: "Hibernate idle: no activity for 7d"})
	if err != nil || !res.Changed {
		t.Fatalf("Housekeep = %+v, %v", res, err)
	}
	got := repo.Commits(t)[0]
	for k, v := range map[string]string{TrailerRequestedBy: HousekeepingIdentity, TrailerSource: rule, TrailerCommand: "housekeeping hibernate"} {
		if got := committest.Trailer(got, k); got != v {
			t.Errorf("trailer %s = %q; want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(got.Message, "Hibernate idle: no activity for 7d\n") || got.Author.Name != committest.Bot.Name {
		t.Errorf("commit %q by %s", got.Message, got.Author.Name)
	}
	data, _ := repo.File(t, envs.PathFor("idle"))
	if !strings.Contains(data, "state: hibernated") || !strings.Contains(data, "# the owner") || !strings.Contains(data, "do not remove") {
		t.Errorf("hibernated file lost its comments or state:\n%s", data)
	}

	// Already hibernated, gone, or broken since: nothing to commit.
	for _, h := range []Housekeeping{{Name: "idle"}, {Name: "ghost"}, {Name: "ghost", Delete: true}, {Name: "broken"}} {
		if res, err := c.Housekeep(ctx, h); err != nil || res.Changed {
			t.Errorf("Housekeep(%+v) = %+v, %v; want nothing done", h, res, err)
		}
	}
	if n := count(t, repo); n != 1 {
		t.Fatalf("%d commits; want 1", n)
	}

	res, err = c.Housekeep(ctx, Housekeeping{Name: "old", Delete: true, Rule: "hibernated 14d, since 2026-11-06T10:00Z"})
	if err != nil || !res.Changed {
		t.Fatalf("Housekeep(delete) = %+v, %v", res, err)
	}
	if _, ok := repo.File(t, envs.PathFor("old")); ok {
		t.Error("file still there")
	}
	if got := repo.Commits(t)[0]; !strings.HasPrefix(got.Message, "Delete environment old") ||
		committest.Trailer(got, TrailerSource) != "hibernated 14d, since 2026-11-06T10:00Z" {
		t.Errorf("deletion commit %q", got.Message)
	}
}
