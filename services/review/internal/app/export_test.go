package app

// DeadlineWoken reports whether the deadline watch has been woken since it was last
// asked, and takes the wake, as the watch would.
func (a *App) DeadlineWoken() bool {
	select {
	case <-a.wake:
		return true
	default:
		return false
	}
}
