package provisioner

import (
	"strings"
	"testing"
	"time"
)

func TestValidSize(t *testing.T) {
	for size, ok := range map[string]bool{
		"100users": true, "miniSingleton": true, "miniHA": true, "cloud10users": true,
		"provisionerXL": true, "provisionerXL-6": true, "provisionerXL-": false, "provisionerXL-a": false,
		"provisionerXL-1-2": false, "huge": false, "": false, "100Users": false,
	} {
		if err := ValidSize(size); (err == nil) != ok {
			t.Errorf("ValidSize(%q) = %v, want ok=%v", size, err, ok)
		}
	}
}

func TestValidAnnotation(t *testing.T) {
	for name, ok := range map[string]bool{
		"envwick": true, "multi-tenant_2": true, "ab": false, "Upper": false, "1abc": false,
		"has space": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if err := ValidAnnotation(name); (err == nil) != ok {
			t.Errorf("ValidAnnotation(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestCanTransition(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{StateStable, StateHibernationRequested, true},
		{StateHibernating, StateHibernationRequested, false},
		{StateHibernating, StateWakeUpRequested, true},
		{StateStable, StateWakeUpRequested, false},
		{StateCreationRequested, StateUpdateRequested, false},
		{StateUpdateFailed, StateUpdateRequested, true},
		{StateStable, StateDeletionRequested, false},
		{StateStable, StateDeletionPendingRequested, true},
		{StateCreationFailed, StateDeletionRequested, true},
		{StateDeletionPending, StateDeletionCancellationRequested, true},
		{StateStable, StateDeletionCancellationRequested, false},
		{StateDeleted, StateDeletionRequested, false},
		{StateDeleted, StateDeletionPendingRequested, false},
		{StateCreationFailed, StateCreationRequested, true},
		{StateStable, "made-up", false},
	}
	for _, tt := range tests {
		if got := CanTransition(tt.from, tt.to); got != tt.ok {
			t.Errorf("CanTransition(%s, %s) = %v", tt.from, tt.to, got)
		}
	}
}

func TestCreateRequestDefaultsAndValidation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := CreateInstallationRequest{
		OwnerID: "me", DNS: "Pr-12.Test.Example.com",
		Database: DatabaseMultiTenantRDSPostgres, Filestore: FilestoreBifrost,
	}
	d := valid.WithDefaults()
	if d.Name != "pr-12" || d.DNSNames[0] != "pr-12.test.example.com" || d.Size != DefaultSize ||
		d.Version != DefaultVersion || d.Image != DefaultImage || d.Affinity != AffinityIsolated {
		t.Fatalf("defaults: %+v", d)
	}
	if err := d.Validate(ServerRules{}, now); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	tests := map[string]struct {
		mod   func(r *CreateInstallationRequest)
		rules ServerRules
		want  string
	}{
		"no owner":           {func(r *CreateInstallationRequest) { r.OwnerID = "" }, ServerRules{}, "owner"},
		"no dns":             {func(r *CreateInstallationRequest) { r.DNS = ""; r.DNSNames = nil }, ServerRules{}, "DNS name is required"},
		"dns mismatch":       {func(r *CreateInstallationRequest) { r.Name = "other" }, ServerRules{}, "must start with"},
		"bad size":           {func(r *CreateInstallationRequest) { r.Size = "huge" }, ServerRules{}, "size"},
		"bad database":       {func(r *CreateInstallationRequest) { r.Database = "sqlite" }, ServerRules{}, "unsupported database"},
		"bad filestore":      {func(r *CreateInstallationRequest) { r.Filestore = "floppy" }, ServerRules{}, "unsupported filestore"},
		"bad affinity":       {func(r *CreateInstallationRequest) { r.Affinity = "any" }, ServerRules{}, "affinity"},
		"minio not allowed":  {func(r *CreateInstallationRequest) { r.Filestore = FilestoreMinioOperator }, ServerRules{}, "minio"},
		"mysql not allowed":  {func(r *CreateInstallationRequest) { r.Database = DatabaseMySQLOperator }, ServerRules{}, "mysql"},
		"bad annotation":     {func(r *CreateInstallationRequest) { r.Annotations = []string{"Bad"} }, ServerRules{}, "annotation"},
		"annotation needed":  {func(r *CreateInstallationRequest) {}, ServerRules{RequireAnnotations: true}, "annotation"},
		"empty env":          {func(r *CreateInstallationRequest) { r.MattermostEnv = EnvVarMap{"A": {}} }, ServerRules{}, "env var"},
		"space in version":   {func(r *CreateInstallationRequest) { r.Version = "1 2" }, ServerRules{}, "spaces"},
		"deletion too soon":  {func(r *CreateInstallationRequest) { r.ScheduledDeletionTime = Millis(now.Add(time.Minute)) }, ServerRules{}, "5 minutes"},
		"external no secret": {func(r *CreateInstallationRequest) { r.Database = DatabaseExternal }, ServerRules{}, "secret"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := d
			tt.mod(&r)
			err := r.Validate(tt.rules, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about %q", err, tt.want)
			}
		})
	}
	withOperators := d
	withOperators.Database, withOperators.Filestore = DatabaseMySQLOperator, FilestoreMinioOperator
	if err := withOperators.Validate(ServerRules{DeployMySQLOperator: true, DeployMinioOperator: true}, now); err != nil {
		t.Errorf("operators deployed: %v", err)
	}
}

func TestPatchValidate(t *testing.T) {
	for name, tt := range map[string]struct {
		p  PatchInstallationRequest
		ok bool
	}{
		"empty":       {PatchInstallationRequest{}, true},
		"size":        {PatchInstallationRequest{Size: ptr("miniHA")}, true},
		"bad size":    {PatchInstallationRequest{Size: ptr("huge")}, false},
		"blank image": {PatchInstallationRequest{Image: ptr("")}, false},
		"blank ver":   {PatchInstallationRequest{Version: ptr("")}, false},
		"bad cidr":    {PatchInstallationRequest{AllowedIPRanges: &[]AllowedIPRange{{CIDRBlock: "10.0.0.0/99"}}}, false},
		"cidr":        {PatchInstallationRequest{AllowedIPRanges: &[]AllowedIPRange{{CIDRBlock: "10.0.0.0/8"}}}, true},
	} {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}
