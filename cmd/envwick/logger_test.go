package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLoggerSettings(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       string
		wantOut       string
	}{
		{"debug", "json", "", `"level":"DEBUG"`},
		{"info", "text", "", "level=INFO"},
		{"verbose", "json", "--log-level", ""},
		{"info", "yaml", "--log-format", ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		c := &systemConfig{LogLevel: tt.level, LogFormat: tt.format}
		log, err := c.logger(&out)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s/%s: error %v, want one naming %s", tt.level, tt.format, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s/%s: %v", tt.level, tt.format, err)
		}
		log.Debug("d")
		log.Info("i")
		if !strings.Contains(out.String(), tt.wantOut) {
			t.Errorf("%s/%s: output %q lacks %q", tt.level, tt.format, out.String(), tt.wantOut)
		}
	}
}
