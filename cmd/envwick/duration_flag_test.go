package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// Duration flags read what environment files and ENVWICK_* variables do, so
// "--hibernate-after-idle 3d" works as "ENVWICK_HIBERNATE_AFTER_IDLE=3d" does.
func TestDurationFlagsReadDays(t *testing.T) {
	tests := []struct {
		args    []string
		flag    string
		want    string
		wantErr bool
	}{
		{[]string{"--hibernate-after-idle=3d"}, "hibernate-after-idle", "3d", false},
		{[]string{"--delete-after-hibernated=2w"}, "delete-after-hibernated", "14d", false},
		{[]string{"--interval=90s"}, "interval", "1m30s", false},
		{[]string{"--hibernate-after-idle=3 days"}, "hibernate-after-idle", "", true},
		{nil, "hibernate-after-idle", "7d", false},
	}
	for _, tt := range tests {
		cmd := newServeCmd()
		err := cmd.Flags().Parse(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: error %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got := cmd.Flags().Lookup(tt.flag).Value.String(); got != tt.want {
			t.Errorf("%v: --%s = %q, want %q", tt.args, tt.flag, got, tt.want)
		}
	}
}

func TestDurationVarSetsTheTarget(t *testing.T) {
	var d time.Duration
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	durationVar(fs, &d, "idle", time.Hour, "")
	if d != time.Hour {
		t.Fatalf("default not applied: %v", d)
	}
	if err := fs.Parse([]string{"--idle=1w2d"}); err != nil {
		t.Fatal(err)
	}
	if d != 9*24*time.Hour {
		t.Fatalf("--idle=1w2d set %v", d)
	}
}
