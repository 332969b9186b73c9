// Package envs is the Environment API: the YAML document people and bots
// write to ask for a test environment, and the status the reconciler writes
// back. It owns the types, their defaults, parsing, validation and the one
// canonical way of writing them.
package envs

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Group is the API group of every envwick document.
	Group = "envwick.dev"
	// Version is the API version this package reads and writes.
	Version = "v1alpha1"
	// APIVersion is the apiVersion field every environment file carries.
	APIVersion = Group + "/" + Version
	// Kind is the kind field every environment file carries.
	Kind = "Environment"
)

// Environment is one test environment: one YAML document in one file of the
// envs repository. Spec is what people want; Status is what the reconciler
// last observed and is never written by hand.
type Environment struct {
	metav1.TypeMeta `json:",inline"`
	// Metadata. Only name, labels and annotations are meaningful; other
	// Kubernetes metadata fields are rejected by validation.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   EnvironmentSpec   `json:"spec"`
	Status EnvironmentStatus `json:"status,omitempty"`
}

// EnvironmentSpec is the desired state of an environment.
type EnvironmentSpec struct {
	// Owner is the person the environment belongs to and who hears about it.
	Owner Owner `json:"owner"`
	// Source says where the request came from. Absent means written by hand.
	Source Source `json:"source,omitempty"`
	// Installation is what to run on the platform.
	Installation Installation `json:"installation,omitempty"`
	// State is the desired power state: running (default) or hibernated.
	State PowerState `json:"state,omitempty"`
	// Lifecycle bounds how long the environment lives.
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`
	// Suspend makes the reconciler leave this environment alone: no creates,
	// updates or deletes, and no housekeeping.
	Suspend bool `json:"suspend,omitempty"`
	// Sharing makes the environment visible to everyone on the team, and
	// with allowUpdates changeable by them (as the cloud plugin's share).
	Sharing *Sharing `json:"sharing,omitempty"`
}

// Sharing is how an environment is shared with the team.
type Sharing struct {
	// Shared lists the environment for everyone (/cloud list
	// --shared-installations).
	Shared bool `json:"shared,omitempty"`
	// AllowUpdates lets anyone change what the shared environment runs
	// (update, restart, retry); hibernating, deleting, sharing and the
	// deletion lock stay with its owner and admins.
	AllowUpdates bool `json:"allowUpdates,omitempty"`
}

// Owner identifies a person on the tools envwick talks through. At least one
// of GitHub and Mattermost is required.
type Owner struct {
	// GitHub is a GitHub login.
	GitHub string `json:"github,omitempty"`
	// Mattermost is a Mattermost username.
	Mattermost string `json:"mattermost,omitempty"`
	// Email is where the owner can be reached; used as commit author email.
	Email string `json:"email,omitempty"`
}

// Source records what asked for the environment. At most one member is set;
// none set means the file was written by hand (manual).
type Source struct {
	PullRequest *PullRequestSource `json:"pullRequest,omitempty"`
	Chat        *ChatSource        `json:"chat,omitempty"`
	Manual      *ManualSource      `json:"manual,omitempty"`
}

// SourceKind names which member of Source is set.
type SourceKind string

const (
	SourcePullRequest SourceKind = "pullRequest"
	SourceChat        SourceKind = "chat"
	SourceManual      SourceKind = "manual"
)

// PullRequestSource is a GitHub pull request that asked for the environment.
type PullRequestSource struct {
	// Repository is "owner/name".
	Repository string `json:"repository"`
	// Number is the pull request number.
	Number int `json:"number"`
	// HeadSHA is the commit the environment should run.
	HeadSHA string `json:"headSHA,omitempty"`
	// Label is the PR label that asked for it, if any.
	Label string `json:"label,omitempty"`
}

// ChatSource is a Mattermost slash command that asked for the environment.
type ChatSource struct {
	// User is the Mattermost username who ran the command.
	User string `json:"user"`
	// UserID is the Mattermost user ID, used to send direct messages.
	UserID string `json:"userID,omitempty"`
	// Channel is the channel ID the command was run in.
	Channel string `json:"channel,omitempty"`
	// Team is the team ID the command was run in.
	Team string `json:"team,omitempty"`
}

// ManualSource marks an environment written by hand in a pull request.
type ManualSource struct {
	// Note says why the environment exists.
	Note string `json:"note,omitempty"`
}

// Installation is what runs on the platform, in the provisioner's and the
// Mattermost cloud plugin's vocabulary.
type Installation struct {
	// Version is the Mattermost image tag, for example "10.5.0" or a commit SHA.
	Version string `json:"version,omitempty"`
	// Image is the Mattermost container image repository.
	Image string `json:"image,omitempty"`
	// Size is the provisioner size: miniSingleton, miniHA, 100users, ...
	Size string `json:"size,omitempty"`
	// License is the license name: enterprise, professional, e20, e10, te, ...
	License string `json:"license,omitempty"`
	// Affinity is isolated or multitenant.
	Affinity string `json:"affinity,omitempty"`
	// Database is the provisioner database type.
	Database string `json:"database,omitempty"`
	// Filestore is the provisioner filestore type.
	Filestore string `json:"filestore,omitempty"`
	// Env holds Mattermost environment variables.
	Env map[string]string `json:"env,omitempty"`
	// Annotations are provisioner annotations ([a-z0-9_-]).
	Annotations []string `json:"annotations,omitempty"`
	// TestData loads sample data once the installation is stable.
	TestData bool `json:"testData,omitempty"`
}

// AnnotationRetry is the metadata annotation /cloud retry and /env retry
// bump: a counter whose every new value asks the reconciler to retry a
// failed create or update once. A commit records who retried.
const AnnotationRetry = Group + "/retry"

// PowerState is the desired power state of an environment.
type PowerState string

const (
	StateRunning    PowerState = "running"
	StateHibernated PowerState = "hibernated"
)

// Lifecycle bounds an environment's life. Zero values take the fleet's
// defaults (see Defaults).
type Lifecycle struct {
	// ExpiresAt deletes the environment at this time.
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// TTL deletes the environment this long after it was created.
	TTL *Duration `json:"ttl,omitempty"`
	// HibernateAfterIdle hibernates the environment after this long without
	// activity.
	HibernateAfterIdle *Duration `json:"hibernateAfterIdle,omitempty"`
	// DeleteAfterHibernated deletes the environment this long after it was
	// hibernated.
	DeleteAfterHibernated *Duration `json:"deleteAfterHibernated,omitempty"`
	// Keep protects the environment from housekeeping (idle hibernation and
	// deletion). Explicit expiry still applies.
	Keep bool `json:"keep,omitempty"`
	// DeletionLocked sets the platform's deletion lock on the
	// installation (the provisioner's deletion/lock), beyond envwick's own
	// keep: while it is set the installation is not deleted, not even when
	// the file is removed, and housekeeping does not delete it.
	DeletionLocked bool `json:"deletionLocked,omitempty"`
}

// EnvironmentStatus is what the reconciler last observed and decided.
type EnvironmentStatus struct {
	// ObservedCommit is the envs repository commit the reconciler acted on.
	ObservedCommit string `json:"observedCommit,omitempty"`
	// Conditions are Ready, Reconciling and Stalled.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Installation is the platform installation backing this environment.
	Installation *InstallationStatus `json:"installation,omitempty"`
	// CreatedAt is when the environment was first seen.
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// LastActivity is the last time anyone used or changed the environment.
	LastActivity *metav1.Time `json:"lastActivity,omitempty"`
	// HibernatedAt is when the environment was last hibernated.
	HibernatedAt *metav1.Time `json:"hibernatedAt,omitempty"`
	// HibernateAt is when housekeeping will hibernate the environment.
	HibernateAt *metav1.Time `json:"hibernateAt,omitempty"`
	// DeleteAt is when housekeeping or expiry will delete the environment.
	DeleteAt *metav1.Time `json:"deleteAt,omitempty"`
	// LastError is the last error met while reconciling, if any.
	LastError string `json:"lastError,omitempty"`
	// Image is the container image the environment runs, as resolved in
	// its registry before a create or an update.
	Image *ImageStatus `json:"image,omitempty"`
	// DeletionLocked is the platform's deletion lock as last applied or
	// observed.
	DeletionLocked bool `json:"deletionLocked,omitempty"`
	// TestData records loading sample data (spec.installation.testData).
	TestData *TestDataStatus `json:"testData,omitempty"`
}

// ImageStatus is an environment's image as its registry knows it.
type ImageStatus struct {
	// Reference is the image and tag asked for (repository:version).
	Reference string `json:"reference,omitempty"`
	// Digest is what the tag resolved to (sha256:...); a tag that moves to
	// another digest is an update.
	Digest string `json:"digest,omitempty"`
	// WaitingSince is set while the tag is not in the registry: since when
	// the create or update has been waiting for it.
	WaitingSince *metav1.Time `json:"waitingSince,omitempty"`
}

// TestDataStatus records loading sample data into an installation, done
// once per installation.
type TestDataStatus struct {
	// InstallationID is the installation the data was (or is being) loaded
	// into; a new installation loads it again.
	InstallationID string `json:"installationID,omitempty"`
	// LoadedAt is when loading succeeded.
	LoadedAt *metav1.Time `json:"loadedAt,omitempty"`
	// Attempts counts the attempts that failed.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the last attempt's error.
	LastError string `json:"lastError,omitempty"`
}

// InstallationStatus describes the platform installation.
type InstallationStatus struct {
	// ID is the provisioner installation ID.
	ID string `json:"id,omitempty"`
	// Name is the provisioner installation name.
	Name string `json:"name,omitempty"`
	// URL is where people reach the environment.
	URL string `json:"url,omitempty"`
	// State is the platform's own state, for example stable or hibernating.
	State string `json:"state,omitempty"`
	// Phase is what the state means to envwick (Creating, Stable,
	// Hibernated, Failed, ...): transitions are detected on it, so they
	// do not depend on one platform's vocabulary.
	Phase string `json:"phase,omitempty"`
	// Version is the version the installation runs.
	Version string `json:"version,omitempty"`
}

// Condition types and reasons, beyond those in fluxcd/pkg/apis/meta.
const (
	// ReasonInvalid: the environment file does not parse or validate.
	ReasonInvalid = "Invalid"
	// ReasonProvisioning: the installation is being created or changed.
	ReasonProvisioning = "Provisioning"
	// ReasonHibernated: the installation is hibernated, as asked.
	ReasonHibernated = "Hibernated"
	// ReasonSuspended: spec.suspend is set.
	ReasonSuspended = "Suspended"
	// ReasonProvisionerError: the provisioner refused or failed a request.
	ReasonProvisionerError = "ProvisionerError"
	// ReasonInstallationFailed: the installation reached a failed state.
	ReasonInstallationFailed = "InstallationFailed"
	// ReasonDeletionBlocked: the mass-deletion guard held a deletion back.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonAvailable: the installation is stable and reachable.
	ReasonAvailable = "Available"
	// ReasonWaitingForImage: the image tag is not in its registry yet (a
	// pull request's image still building); checked again with backoff.
	ReasonWaitingForImage = "WaitingForImage"
	// ReasonImageNotFound: the image tag did not appear before the
	// deadline.
	ReasonImageNotFound = "ImageNotFound"
	// ReasonDeletionLocked: the platform's deletion lock holds a deletion
	// back.
	ReasonDeletionLocked = "DeletionLocked"

	// TestDataCondition reports loading sample data, with reason
	// ReasonTestDataLoaded, ReasonTestDataLoading or ReasonTestDataFailed.
	TestDataCondition     = "TestData"
	ReasonTestDataLoaded  = "Loaded"
	ReasonTestDataLoading = "Loading"
	ReasonTestDataFailed  = "LoadFailed"
)
