package envs

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{10 * time.Second, "10s"},
		{90 * time.Second, "1m30s"},
		{20 * time.Minute, "20m"},
		{90 * time.Minute, "1h30m"},
		{time.Hour, "1h"},
		{time.Hour + 30*time.Second, "1h0m30s"},
		{10 * time.Hour, "10h"},
		{24 * time.Hour, "1d"},
		{36 * time.Hour, "1d12h"},
		{24*time.Hour + 20*time.Minute, "1d20m"},
		{14 * 24 * time.Hour, "14d"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// Every written duration reads back as the same value, so a file that a bot
// or the reconciler rewrites keeps its lifecycle.
func TestDurationRoundTrip(t *testing.T) {
	units := []time.Duration{time.Millisecond, time.Second, time.Minute, time.Hour, 24 * time.Hour}
	for _, u := range units {
		for _, n := range []time.Duration{1, 2, 9, 10, 11, 20, 30, 59, 60, 90, 100, 1000} {
			d := n * u
			for _, extra := range []time.Duration{0, time.Second, 10 * time.Minute, 3 * time.Hour} {
				d := d + extra
				b, err := json.Marshal(Duration{Duration: d})
				if err != nil {
					t.Fatal(err)
				}
				var back Duration
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatalf("%v written as %s does not read back: %v", d, b, err)
				}
				if back.Duration != d {
					t.Errorf("%v written as %s reads back as %v", d, b, back.Duration)
				}
			}
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"7d", 7 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"1w2d12h", 9*24*time.Hour + 12*time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"36h", 36 * time.Hour, false},
		{"", 0, true},
		{"7", 0, true},
		{"d", 0, true},
		{"-1h", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
