package provisioner

import (
	"encoding/json"
	"strings"
	"time"
)

// The wire types below follow the Mattermost Cloud provisioner's JSON
// (v0.92): PascalCase keys, millisecond timestamps, environment variables as
// {"value": ...}. They are our own small copies so that this package does
// not pull the provisioner's model package, which drags in client-go and the
// AWS SDK.

// Installation is an installation as the provisioner returns it (its
// InstallationDTO: the installation plus annotations and DNS records).
type Installation struct {
	ID                         string
	OwnerID                    string
	GroupID                    *string
	GroupSequence              *int64 `json:"GroupSequence,omitempty"`
	Version                    string
	Image                      string
	Name                       string
	Database                   string
	SingleTenantDatabaseConfig *SingleTenantDatabaseConfig `json:"SingleTenantDatabaseConfig,omitempty"`
	ExternalDatabaseConfig     *ExternalDatabaseConfig     `json:"ExternalDatabaseConfig,omitempty"`
	Filestore                  string
	License                    string
	AllowedIPRanges            *[]AllowedIPRange
	Volumes                    *map[string]Volume
	MattermostEnv              EnvVarMap
	PriorityEnv                EnvVarMap
	Size                       string
	Affinity                   string
	State                      string
	CRVersion                  string
	CreateAt                   int64
	DeleteAt                   int64
	DeletionPendingExpiry      int64 `json:"DeletionPendingExpiry,omitempty"`
	ScheduledDeletionTime      int64 `json:"ScheduledDeletionTime,omitempty"`
	APISecurityLock            bool
	DeletionLocked             bool
	LockAcquiredBy             *string
	LockAcquiredAt             int64
	GroupOverrides             map[string]string `json:"GroupOverrides,omitempty"`
	PodProbeOverrides          json.RawMessage   `json:"PodProbeOverrides,omitempty"`

	Annotations []*Annotation `json:"Annotations,omitempty"`
	// DNS is the primary domain name (kept by the provisioner for older
	// clients; DNSRecords is the full list).
	DNS        string
	DNSRecords []*DNSRecord
	ClusterIDs []*string `json:"ClusterIDs,omitempty"`

	// URL is an extension of the embedded simulator: where the installation
	// is served when that differs from https://<DNS> (for example a local
	// Mattermost server standing in for every installation). The real
	// provisioner never sends it; use SiteURL.
	URL string `json:"URL,omitempty"`
}

// SiteURL is where the installation is reached: the simulator's URL when
// given, otherwise https:// and the primary domain name.
func (i *Installation) SiteURL() string {
	if i.URL != "" {
		return i.URL
	}
	if dns := i.PrimaryDNS(); dns != "" {
		return "https://" + dns
	}
	return ""
}

// PrimaryDNS returns the primary domain name.
func (i *Installation) PrimaryDNS() string {
	for _, r := range i.DNSRecords {
		if r != nil && r.IsPrimary {
			return r.DomainName
		}
	}
	return i.DNS
}

// AnnotationNames returns the names of the installation's annotations.
func (i *Installation) AnnotationNames() []string {
	names := make([]string, 0, len(i.Annotations))
	for _, a := range i.Annotations {
		if a != nil {
			names = append(names, a.Name)
		}
	}
	return names
}

// Group returns the group ID, or "" when the installation is in no group.
func (i *Installation) Group() string {
	if i.GroupID == nil {
		return ""
	}
	return *i.GroupID
}

// IsDeleted reports whether the installation has been deleted.
func (i *Installation) IsDeleted() bool { return i.DeleteAt != 0 }

// Created is CreateAt as a time.
func (i *Installation) Created() time.Time { return FromMillis(i.CreateAt) }

// SingleTenantDatabaseConfig configures a single-tenant RDS database.
type SingleTenantDatabaseConfig struct {
	PrimaryInstanceType string
	ReplicaInstanceType string
	ReplicasCount       int
}

// ExternalDatabaseConfig names the secret of an external database.
type ExternalDatabaseConfig struct {
	SecretName string
}

// AllowedIPRange is one ingress source range.
type AllowedIPRange struct {
	CIDRBlock   string
	Description string
	Enabled     bool
	OwnerID     string
}

// Volume is a custom volume mounted into an installation.
type Volume struct {
	Type          string
	BackingSecret string
	MountPath     string
	ReadOnly      bool
}

// Annotation labels installations (and clusters) for scheduling and search.
type Annotation struct {
	ID   string
	Name string
}

// DNSRecord is one domain name of an installation.
type DNSRecord struct {
	ID             string
	DomainName     string
	InstallationID string
	IsPrimary      bool
	CreateAt       int64
	DeleteAt       int64
}

// EnvVar is a Mattermost environment variable. The provisioner spells these
// keys in lower case, unlike everything else.
type EnvVar struct {
	Value string `json:"value,omitempty"`
	// ValueFrom is a Kubernetes EnvVarSource, kept as raw JSON.
	ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
}

// HasValue reports whether the variable is set (an empty one in a patch
// removes the variable).
func (e EnvVar) HasValue() bool { return e.Value != "" || len(e.ValueFrom) != 0 }

// EnvVarMap maps variable names to values.
type EnvVarMap map[string]EnvVar

// EnvFromStrings builds an EnvVarMap from plain values.
func EnvFromStrings(m map[string]string) EnvVarMap {
	if m == nil {
		return nil
	}
	out := make(EnvVarMap, len(m))
	for k, v := range m {
		out[k] = EnvVar{Value: v}
	}
	return out
}

// Strings returns the plain values of the map (ValueFrom entries are left
// out).
func (m EnvVarMap) Strings() map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v.Value != "" {
			out[k] = v.Value
		}
	}
	return out
}

// CreateInstallationRequest asks for a new installation.
type CreateInstallationRequest struct {
	Name    string
	OwnerID string
	GroupID string
	Version string
	Image   string
	// DNS is deprecated by the provisioner in favour of DNSNames; when set
	// it becomes the first (primary) name.
	DNS                        string `json:"DNS,omitempty"`
	DNSNames                   []string
	License                    string
	Size                       string
	Affinity                   string
	Database                   string
	Filestore                  string
	APISecurityLock            bool
	DeletionLocked             bool
	MattermostEnv              EnvVarMap
	PriorityEnv                EnvVarMap
	Annotations                []string
	GroupSelectionAnnotations  []string
	ScheduledDeletionTime      int64
	SingleTenantDatabaseConfig SingleTenantDatabaseConfig
	ExternalDatabaseConfig     ExternalDatabaseConfig
	PodProbeOverrides          json.RawMessage `json:"PodProbeOverrides,omitempty"`
}

// PatchInstallationRequest changes an installation (PUT .../mattermost, and
// the optional body of a wake-up). Nil fields are left alone. For the env
// maps: nil leaves them alone, an empty non-nil map clears them, and an entry
// without a value removes that variable.
type PatchInstallationRequest struct {
	OwnerID          *string           `json:"OwnerID,omitempty"`
	Image            *string           `json:"Image,omitempty"`
	Version          *string           `json:"Version,omitempty"`
	Size             *string           `json:"Size,omitempty"`
	License          *string           `json:"License,omitempty"`
	AllowedIPRanges  *[]AllowedIPRange `json:"AllowedIPRanges,omitempty"`
	OverrideIPRanges *bool             `json:"OverrideIPRanges,omitempty"`
	// The env maps are sent as null when nil and {} when empty, which the
	// provisioner reads as "leave alone" and "clear".
	PriorityEnv       EnvVarMap
	MattermostEnv     EnvVarMap
	PodProbeOverrides json.RawMessage `json:"PodProbeOverrides,omitempty"`
}

// PatchInstallationDeletionRequest moves the end of a pending deletion.
type PatchInstallationDeletionRequest struct {
	DeletionPendingExpiry *int64
}

// PatchInstallationScheduledDeletionRequest sets (or with 0 clears) the time
// an installation is scheduled for deletion.
type PatchInstallationScheduledDeletionRequest struct {
	ScheduledDeletionTime *int64
}

// InstallationsStatus counts non-deleted installations by state.
type InstallationsStatus struct {
	InstallationsTotal           int64
	InstallationsStable          int64
	InstallationsHibernating     int64
	InstallationsPendingDeletion int64
	InstallationsUpdating        int64
}

// InstallationsCount is the answer of GET /api/installations/count.
type InstallationsCount struct {
	Count int64
}

// ClusterInstallation is an installation's presence on one cluster; exec
// commands run against it.
type ClusterInstallation struct {
	ID              string
	ClusterID       string
	InstallationID  string
	Namespace       string
	State           string
	CreateAt        int64
	DeleteAt        int64
	APISecurityLock bool
	LockAcquiredBy  *string
	LockAcquiredAt  int64
	IsActive        bool
}

// Webhook is a registered webhook.
type Webhook struct {
	ID       string
	OwnerID  string
	URL      string
	CreateAt int64
	DeleteAt int64
	Headers  []WebhookHeader
}

// WebhookHeader is a custom header sent with each delivery: a literal value
// or the value of an environment variable of the provisioner.
type WebhookHeader struct {
	Key          string  `json:"key"`
	Value        *string `json:"value,omitempty"`
	ValueFromEnv *string `json:"value_from_env,omitempty"`
}

// CreateWebhookRequest registers a webhook.
type CreateWebhookRequest struct {
	OwnerID string
	URL     string
	Headers []WebhookHeader `json:"Headers,omitempty"`
}

// Resource types named in webhook payloads.
const (
	TypeInstallation        = "installation"
	TypeClusterInstallation = "cluster_installation"
	TypeCluster             = "cluster"
)

// WebhookPayload is what the provisioner posts to webhooks on every state
// change. Timestamp is in nanoseconds (unlike every other provisioner
// timestamp, for compatibility with its older consumers).
type WebhookPayload struct {
	EventID   string            `json:"event_id"`
	Timestamp int64             `json:"timestamp"`
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	NewState  string            `json:"new_state"`
	OldState  string            `json:"old_state"`
	ExtraData map[string]string `json:"extra_data,omitempty"`
}

// Millis returns t as provisioner milliseconds.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis converts provisioner milliseconds to a time (zero for 0).
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// NameFromDNS is how the provisioner derives an installation name from a
// domain name: its first label.
func NameFromDNS(dns string) string {
	return strings.ToLower(strings.SplitN(dns, ".", 2)[0])
}
