package reconciler

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
)

func TestHasEnv(t *testing.T) {
	for _, c := range []struct {
		name       string
		have, want map[string]string
		retry      string
	}{
		{"identity only", map[string]string{IdentityEnvVar: "a"}, nil, ""},
		{"identity missing", map[string]string{}, nil, ""},
		{"another identity", map[string]string{IdentityEnvVar: "b"}, nil, ""},
		{"same variables", map[string]string{IdentityEnvVar: "a", "X": "1"}, map[string]string{"X": "1"}, ""},
		{"another value", map[string]string{IdentityEnvVar: "a", "X": "2"}, map[string]string{"X": "1"}, ""},
		{"one too many", map[string]string{IdentityEnvVar: "a", "X": "1", "Y": "1"}, map[string]string{"X": "1"}, ""},
		{"one missing", map[string]string{IdentityEnvVar: "a"}, map[string]string{"X": "1"}, ""},
		{"empty values are dropped", map[string]string{IdentityEnvVar: "a"}, map[string]string{"X": ""}, ""},
		{"the spec's identity is overridden", map[string]string{IdentityEnvVar: "a"}, map[string]string{IdentityEnvVar: "other"}, ""},
		{"the spec's identity is overridden, installation has it", map[string]string{IdentityEnvVar: "other"}, map[string]string{IdentityEnvVar: "other"}, ""},
		{"retry counter given", map[string]string{IdentityEnvVar: "a", RetryEnvVar: "2"}, nil, "2"},
		{"retry counter not given yet", map[string]string{IdentityEnvVar: "a", RetryEnvVar: "1"}, nil, "2"},
		{"retry counter missing", map[string]string{IdentityEnvVar: "a"}, nil, "2"},
		{"retry counter left over", map[string]string{IdentityEnvVar: "a", RetryEnvVar: "1"}, nil, ""},
		{"the spec's retry variable is overridden", map[string]string{IdentityEnvVar: "a", RetryEnvVar: "2"}, map[string]string{RetryEnvVar: "9"}, "2"},
	} {
		e := &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
		if c.retry != "" {
			e.Annotations = map[string]string{envs.AnnotationRetry: c.retry}
		}
		want := maps.Equal(withRetry(withIdentity(c.want, "a"), e), c.have)
		if got := hasEnv(c.have, c.want, "a", c.retry); got != want {
			t.Errorf("%s: hasEnv %v, want %v (as withIdentity compares)", c.name, got, want)
		}
	}
}
