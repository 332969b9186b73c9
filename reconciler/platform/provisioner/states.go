package provisioner

import "slices"

// Installation states of the provisioner (v0.92).
const (
	StateStable                        = "stable"
	StateCreationRequested             = "creation-requested"
	StateCreationPreProvisioning       = "creation-pre-provisioning"
	StateCreationInProgress            = "creation-in-progress"
	StateCreationDNS                   = "creation-configuring-dns"
	StateCreationFailed                = "creation-failed"
	StateCreationNoCompatibleClusters  = "creation-no-compatible-clusters"
	StateCreationFinalTasks            = "creation-final-tasks"
	StateHibernationRequested          = "hibernation-requested"
	StateHibernationInProgress         = "hibernation-in-progress"
	StateHibernating                   = "hibernating"
	StateWakeUpRequested               = "wake-up-requested"
	StateUpdateRequested               = "update-requested"
	StateUpdateInProgress              = "update-in-progress"
	StateUpdateFailed                  = "update-failed"
	StateImportInProgress              = "import-in-progress"
	StateImportComplete                = "import-complete"
	StateDeletionPendingRequested      = "deletion-pending-requested"
	StateDeletionPendingInProgress     = "deletion-pending-in-progress"
	StateDeletionPending               = "deletion-pending"
	StateDeletionCancellationRequested = "deletion-cancellation-requested"
	StateDeletionRequested             = "deletion-requested"
	StateDeletionInProgress            = "deletion-in-progress"
	StateDeletionFinalCleanup          = "deletion-final-cleanup"
	StateDeletionFailed                = "deletion-failed"
	StateDeleted                       = "deleted"
	StateDBRestorationInProgress       = "db-restoration-in-progress"
	StateDBMigrationInProgress         = "db-migration-in-progress"
	StateDBMigrationRollbackInProgress = "db-migration-rollback-in-progress"
	StateDBRestorationFailed           = "db-restoration-failed"
	StateDBMigrationFailed             = "db-migration-failed"
	StateDNSMigrationHibernating       = "dns-migration-hibernated"
	// NonApplicableState is the old state of a creation event.
	NonApplicableState = "n/a"
)

// AllStates lists every installation state.
var AllStates = []string{
	StateStable, StateCreationRequested, StateCreationPreProvisioning, StateCreationInProgress,
	StateCreationDNS, StateCreationFailed, StateCreationNoCompatibleClusters, StateCreationFinalTasks,
	StateHibernationRequested, StateHibernationInProgress, StateHibernating, StateWakeUpRequested,
	StateUpdateRequested, StateUpdateInProgress, StateUpdateFailed, StateImportInProgress,
	StateImportComplete, StateDeletionPendingRequested, StateDeletionPendingInProgress,
	StateDeletionPending, StateDeletionCancellationRequested, StateDeletionRequested,
	StateDeletionInProgress, StateDeletionFinalCleanup, StateDeletionFailed, StateDeleted,
	StateDBRestorationInProgress, StateDBMigrationInProgress, StateDBMigrationRollbackInProgress,
	StateDBRestorationFailed, StateDBMigrationFailed, StateDNSMigrationHibernating,
}

// validTransitions maps a state the API can request to the states an
// installation may be in for the request to be accepted: the provisioner's
// own table. Anything else is answered 400.
var validTransitions = map[string][]string{
	StateCreationRequested:    {StateCreationRequested, StateCreationFailed},
	StateHibernationRequested: {StateStable},
	StateWakeUpRequested:      {StateHibernating},
	StateUpdateRequested: {
		StateStable, StateUpdateRequested, StateUpdateInProgress, StateUpdateFailed,
	},
	StateDeletionPendingRequested: {
		StateStable, StateUpdateRequested, StateUpdateInProgress, StateUpdateFailed,
		StateHibernating, StateDeletionPendingRequested, StateDeletionPendingInProgress,
	},
	StateDeletionPending:               {StateDeletionPending},
	StateDeletionCancellationRequested: {StateDeletionPending},
	StateDeletionRequested: {
		StateCreationRequested, StateCreationPreProvisioning, StateCreationInProgress,
		StateCreationDNS, StateCreationNoCompatibleClusters, StateCreationFinalTasks,
		StateCreationFailed, StateDeletionRequested, StateDeletionInProgress,
		StateDeletionFinalCleanup, StateDeletionFailed,
	},
	StateDBRestorationInProgress: {StateHibernating},
	StateDBMigrationInProgress:   {StateHibernating},
	StateDNSMigrationHibernating: {StateHibernating},
}

// CanTransition reports whether the provisioner accepts a request that moves
// an installation in state current to the requested state.
func CanTransition(current, requested string) bool {
	return slices.Contains(validTransitions[requested], current)
}

// DeletionStates are the states an installation passes through when deleted.
var DeletionStates = []string{
	StateDeletionPendingRequested, StateDeletionPendingInProgress, StateDeletionPending,
	StateDeletionCancellationRequested, StateDeletionRequested, StateDeletionInProgress,
	StateDeletionFinalCleanup, StateDeletionFailed, StateDeleted,
}

// IsDeletionState reports whether state is one of DeletionStates.
func IsDeletionState(state string) bool { return slices.Contains(DeletionStates, state) }
