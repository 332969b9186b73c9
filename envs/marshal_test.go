package envs

import (
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func fullEnvironment() *Environment {
	expires := metav1.NewTime(time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC))
	return &Environment{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "pr-77",
			Labels:      map[string]string{"team": "web", "app": "mattermost"},
			Annotations: map[string]string{"envwick.dev/note": "x"},
		},
		Spec: EnvironmentSpec{
			Owner: Owner{GitHub: "jane-doe", Email: "jane@example.com"},
			Source: Source{PullRequest: &PullRequestSource{
				Repository: "mattermost/mattermost", Number: 77, HeadSHA: "abcdef1", Label: "cloud-env",
			}},
			Installation: Installation{
				Version: "10.10", Image: "mattermost/mattermost-enterprise-edition", Size: "miniHA",
				License: "e20", Affinity: "isolated", Database: "aws-rds-postgres", Filestore: "aws-s3",
				Env:         map[string]string{"MM_B": "true", "MM_A": "1"},
				Annotations: []string{"b", "a"},
				TestData:    true,
			},
			State: StateHibernated,
			Lifecycle: Lifecycle{
				ExpiresAt:             &expires,
				HibernateAfterIdle:    NewDuration(36 * time.Hour),
				DeleteAfterHibernated: NewDuration(14 * 24 * time.Hour),
				Keep:                  true,
			},
			Suspend: true,
		},
		Status: EnvironmentStatus{LastError: "never written by Marshal"},
	}
}

func TestMarshalCanonical(t *testing.T) {
	got, err := Marshal(fullEnvironment())
	if err != nil {
		t.Fatal(err)
	}
	want := SchemaComment + `
apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: pr-77
  labels:
    app: mattermost
    team: web
  annotations:
    envwick.dev/note: x
spec:
  owner:
    github: jane-doe
    email: jane@example.com
  source:
    pullRequest:
      repository: mattermost/mattermost
      number: 77
      headSHA: abcdef1
      label: cloud-env
  installation:
    version: "10.10"
    image: mattermost/mattermost-enterprise-edition
    size: miniHA
    license: e20
    affinity: isolated
    database: aws-rds-postgres
    filestore: aws-s3
    env:
      MM_A: "1"
      MM_B: "true"
    annotations:
      - b
      - a
    testData: true
  state: hibernated
  lifecycle:
    expiresAt: 2026-12-24T18:00:00Z
    hibernateAfterIdle: 1d12h
    deleteAfterHibernated: 14d
    keep: true
  suspend: true
`
	if string(got) != want {
		t.Fatalf("canonical form differs:\n%s", lineDiff(want, string(got)))
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	minimal := &Environment{ObjectMeta: metav1.ObjectMeta{Name: "chat-jane"}, Spec: EnvironmentSpec{
		Owner:  Owner{Mattermost: "jane"},
		Source: Source{Manual: &ManualSource{}},
	}}
	for _, e := range []*Environment{fullEnvironment(), minimal} {
		first, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(PathFor(e.Name), first)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, first)
		}
		want := e.DeepCopy()
		want.Status = EnvironmentStatus{}
		want.APIVersion, want.Kind = APIVersion, Kind
		if !reflect.DeepEqual(parsed, want) {
			t.Fatalf("round trip changed the environment:\n got %+v\nwant %+v", parsed, want)
		}
		for range 20 { // map iteration order must not leak into the output
			again, _ := Marshal(parsed)
			if string(again) != string(first) {
				t.Fatalf("Marshal is not deterministic:\n%s", lineDiff(string(first), string(again)))
			}
		}
		if strings.Contains(string(first), "status") || strings.Contains(string(first), "null") ||
			strings.Contains(string(first), "creationTimestamp") {
			t.Fatalf("canonical form has empty or status fields:\n%s", first)
		}
	}
	got, _ := Marshal(minimal)
	if !strings.Contains(string(got), "manual: {}") {
		t.Fatalf("an explicit manual source must survive:\n%s", got)
	}
}

// lineDiff shows the lines that differ, for readable failures.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		mark := "  "
		if wl != gl {
			mark = "! "
		}
		b.WriteString(mark + gl)
		if wl != gl {
			b.WriteString("    (want " + wl + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}
