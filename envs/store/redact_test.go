package store

import "testing"

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://x-access-token:s3cret@github.com/org/envs.git", "https://x-access-token:redacted@github.com/org/envs.git"},
		{"https://s3cret@github.com/org/envs.git", "https://redacted@github.com/org/envs.git"},
		{"http://s3cret@127.0.0.1:8080/envs.git", "http://redacted@127.0.0.1:8080/envs.git"},
		{"ssh://git@github.com/org/envs.git", "ssh://git@github.com/org/envs.git"},
		{"ssh://git:s3cret@host/envs.git", "ssh://git:redacted@host/envs.git"},
		{"https://github.com/org/envs.git", "https://github.com/org/envs.git"},
		{"/srv/envs.git", "/srv/envs.git"},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
