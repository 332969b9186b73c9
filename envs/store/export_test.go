package store

// SetMaxPacks lets tests make compaction happen after a few fetches.
func (r *Repo) SetMaxPacks(n int) { r.maxPacks = n }
