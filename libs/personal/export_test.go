package personal

// Openings is how many events s has opened, for tests of what a load opens.
func Openings(s *SealedStore) int64 { return s.openings.Load() }
