package reconciler

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

func testEnv(name string, mut ...func(*envs.Environment)) *Desired {
	e := &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: envs.EnvironmentSpec{
			Owner:        envs.Owner{GitHub: "alice"},
			Installation: envs.Installation{Version: "10.5.0", Size: "miniSingleton", License: "enterprise"},
		},
	}
	for _, m := range mut {
		m(e)
	}
	return &Desired{Name: name, Path: envs.PathFor(name), Env: e, Blob: "blob-" + name}
}

func testInst(env, id, state string, mut ...func(*platform.Installation)) platform.Installation {
	in := platform.Installation{
		ID: id, Name: env, OwnerID: "envwick", State: state, Phase: provisioner.Classify(state),
		Version: "10.5.0", Size: "miniSingleton", License: "enterprise",
		Env:      map[string]string{IdentityEnvVar: env},
		CreateAt: time.Unix(1700000000, 0),
	}
	for _, m := range mut {
		m(&in)
	}
	return in
}

func statusWith(name, id string) *Status {
	st := newStatus(name)
	st.Status.Installation = &envs.InstallationStatus{ID: id, Name: name}
	return st
}

func TestPlan(t *testing.T) {
	hibernated := func(e *envs.Environment) { e.Spec.State = envs.StateHibernated }
	tests := []struct {
		name    string
		desired []*Desired
		actual  []platform.Installation
		status  []*Status
		guard   GuardPolicy
		want    map[string]Action
		blocked bool
		check   func(t *testing.T, p *Plan)
	}{
		{
			name:    "new environment is created",
			desired: []*Desired{testEnv("a")},
			want:    map[string]Action{"a": ActionCreate},
		},
		{
			name:    "up to date is nothing",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone},
		},
		{
			name:    "installation without recorded status is adopted",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			want:    map[string]Action{"a": ActionAdopt},
		},
		{
			name:    "version change is an update",
			desired: []*Desired{testEnv("a", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" })},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionUpdate},
			check: func(t *testing.T, p *Plan) {
				if pt := p.Items[0].Patch; pt == nil || pt.Version == nil || *pt.Version != "10.6.0" || pt.Size != nil {
					t.Errorf("patch = %+v, want version only", pt)
				}
			},
		},
		{
			name:    "removed env var is patched away",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable, func(i *platform.Installation) { i.Env["MM_X"] = "1" })},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionUpdate},
			check: func(t *testing.T, p *Plan) {
				if v, ok := p.Items[0].Patch.Env["MM_X"]; !ok || v != "" {
					t.Errorf("patch env = %v, want MM_X removed", p.Items[0].Patch.Env)
				}
			},
		},
		{
			name:    "hibernated spec hibernates a stable installation",
			desired: []*Desired{testEnv("a", hibernated)},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionHibernate},
		},
		{
			name:    "running spec wakes a hibernated installation",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateHibernating)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionWakeUp},
		},
		{
			name:    "busy installation waits",
			desired: []*Desired{testEnv("a", func(e *envs.Environment) { e.Spec.Installation.Version = "11.0.0" })},
			actual:  []platform.Installation{testInst("a", "i1", "creation-in-progress")},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone},
			check: func(t *testing.T, p *Plan) {
				if !p.Items[0].Waiting {
					t.Error("item not waiting")
				}
			},
		},
		{
			name:    "broken file leaves its installation alone",
			desired: []*Desired{{Name: "a", Path: "environments/a.yaml", Err: errors.New("environments/a.yaml:3:1: unknown field")}},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone},
			check: func(t *testing.T, p *Plan) {
				if !strings.Contains(p.Items[0].Stalled, "unknown field") {
					t.Errorf("stalled = %q", p.Items[0].Stalled)
				}
			},
		},
		{
			name:    "suspended environment is left alone",
			desired: []*Desired{testEnv("a", func(e *envs.Environment) { e.Spec.Suspend = true; e.Spec.Installation.Version = "11.0.0" })},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone},
		},
		{
			name:    "suspended environment without installation is not created",
			desired: []*Desired{testEnv("a", func(e *envs.Environment) { e.Spec.Suspend = true })},
			want:    map[string]Action{"a": ActionNone},
		},
		{
			name:    "removed file deletes its installation",
			desired: []*Desired{testEnv("a"), testEnv("b"), testEnv("c"), testEnv("d"), testEnv("e")},
			actual: []platform.Installation{testInst("a", "i1", provisioner.StateStable), testInst("b", "i2", provisioner.StateStable), testInst("c", "i3", provisioner.StateStable),
				testInst("d", "i4", provisioner.StateStable), testInst("e", "i5", provisioner.StateStable), testInst("gone", "i6", provisioner.StateStable)},
			want: map[string]Action{"a": ActionAdopt, "b": ActionAdopt, "c": ActionAdopt, "d": ActionAdopt, "e": ActionAdopt, "gone": ActionDelete},
		},
		{
			name:    "duplicate installation is deleted, the recorded one kept",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable), testInst("a", "i0", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			check: func(t *testing.T, p *Plan) {
				if len(p.Items) != 2 || p.Items[0].Action != ActionDelete || p.Items[0].Installation.ID != "i0" || p.Items[1].Action != ActionNone {
					t.Errorf("items = %+v", p.Items)
				}
			},
		},
		{
			name:    "mass deletion is held back",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable), testInst("b", "i2", provisioner.StateStable), testInst("c", "i3", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone, "b": ActionDelete, "c": ActionDelete},
			blocked: true,
		},
		{
			name:    "mass deletion with override goes ahead",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateStable), testInst("b", "i2", provisioner.StateStable), testInst("c", "i3", provisioner.StateStable)},
			status:  []*Status{statusWith("a", "i1")},
			guard:   GuardPolicy{Override: true},
			want:    map[string]Action{"a": ActionNone, "b": ActionDelete, "c": ActionDelete},
		},
		{
			name:    "deletion count limit",
			desired: []*Desired{},
			actual:  []platform.Installation{testInst("b", "i2", provisioner.StateStable), testInst("c", "i3", provisioner.StateStable)},
			guard:   GuardPolicy{MaxShare: 1, MaxCount: 1},
			want:    map[string]Action{"b": ActionDelete, "c": ActionDelete},
			blocked: true,
		},
		{
			name:    "failed update is retried",
			desired: []*Desired{testEnv("a", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" })},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateUpdateFailed)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionUpdate},
		},
		{
			name:    "failed creation stalls",
			desired: []*Desired{testEnv("a")},
			actual:  []platform.Installation{testInst("a", "i1", provisioner.StateCreationFailed)},
			status:  []*Status{statusWith("a", "i1")},
			want:    map[string]Action{"a": ActionNone},
			check: func(t *testing.T, p *Plan) {
				if p.Items[0].Stalled == "" {
					t.Error("not stalled")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := planInput{commit: "c1", desired: map[string]*Desired{}, actual: map[string][]platform.Installation{}, status: map[string]*Status{}, guard: tt.guard}
			for _, d := range tt.desired {
				in.desired[d.Name] = d
			}
			for _, a := range tt.actual {
				n := environmentOf(&a)
				in.actual[n] = append(in.actual[n], a)
			}
			for _, s := range tt.status {
				in.status[s.Name] = s
			}
			p := plan(in)
			if tt.want != nil {
				got := map[string]Action{}
				for _, it := range p.Items {
					got[it.Name] = it.Action
				}
				if len(got) != len(tt.want) {
					t.Fatalf("plan = %v, want %v", got, tt.want)
				}
				for n, a := range tt.want {
					if got[n] != a {
						t.Errorf("%s: action %s, want %s (plan %v)", n, got[n], a, got)
					}
				}
			}
			if (p.Guard != "") != tt.blocked {
				t.Errorf("guard = %q, want blocked=%v", p.Guard, tt.blocked)
			}
			for _, it := range p.Items {
				if it.Action == ActionDelete && it.Blocked != tt.blocked {
					t.Errorf("%s: blocked=%v", it.Name, it.Blocked)
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestInstallationName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		env  string
		gen  int
		want string
	}{
		{"pr-12", 1, "pr-12"},
		{"pr-12", 2, "pr-12-2"},
		{long, 3, strings.Repeat("a", 61) + "-3"},
	} {
		got := installationName(tc.env, tc.gen)
		if got != tc.want || len(got) > maxInstallationName {
			t.Errorf("installationName(%q, %d) = %q, want %q", tc.env, tc.gen, got, tc.want)
		}
		if g := generationOf(tc.env, got); g != max(tc.gen, 1) {
			t.Errorf("generationOf(%q, %q) = %d, want %d", tc.env, got, g, tc.gen)
		}
	}
	// Names that installationName never makes for the environment.
	for _, tc := range []struct{ env, name string }{
		{"pr-12", "pr-13"},
		{"pr-12", "pr-12-1"},
		{"pr-12", "pr-12-02"},
		{"pr-12", "pr-12-+2"},
		{"pr-12", "pr-1-2"},
		{"pr-12", "pr-12-x"},
		{"pr-12", "other-2"},
		{long, long + "-2"},
	} {
		if g := generationOf(tc.env, tc.name); g != 0 {
			t.Errorf("generationOf(%q, %q) = %d, want 0", tc.env, tc.name, g)
		}
	}
}
