package envs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time written the way people say it: Go durations
// ("36h", "90m") plus whole days and weeks ("7d", "2w", "1w3d").
type Duration struct {
	time.Duration
}

// NewDuration wraps d.
func NewDuration(d time.Duration) *Duration { return &Duration{Duration: d} }

// ParseDuration parses "7d", "2w", "1w2d12h", or any Go duration.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	// Peel leading week and day components; the remainder is a Go duration.
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || (rest[i] != 'd' && rest[i] != 'w') {
			break
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use forms like 90m, 36h, 7d or 2w", s)
		}
		total += d
	}
	if total < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return total, nil
}

// String writes the shortest form ParseDuration reads back, preferring days.
func (d Duration) String() string { return FormatDuration(d.Duration) }

// FormatDuration writes d with whole days as "Nd" and the rest as a Go
// duration without zero trailing units ("1d12h", "90m" as "1h30m").
// ParseDuration reads every result back to the same value.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	day := 24 * time.Hour
	if d < day {
		return trimZeroUnits(d.String())
	}
	days, rest := d/day, d%day
	if rest == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%s", days, trimZeroUnits(rest.String()))
}

// trimZeroUnits drops the zero minutes and seconds time.Duration.String
// appends after a larger unit: "12h0m0s" -> "12h", "20m0s" -> "20m". Only a
// zero that follows a unit letter is dropped, so "10s" stays "10s".
func trimZeroUnits(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s") // "20m0s" -> "20m", "1h30m0s" -> "1h30m"
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m") // "12h0m" -> "12h"
	}
	return s
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"7d\" or \"36h\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}
