package reconciler

// StatusName returns the environment a file on the status branch holds the
// status of, and whether the path is a status file at all. Read-only views
// (the dashboard, `envwick status`) list the status branch with it and read
// each file with ParseStatus.
func StatusName(path string) (string, bool) { return statusName(path) }
