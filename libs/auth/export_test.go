package auth

import "time"

// SetClock makes v read the time from now, so that a test can move it. Call it
// before v is first used.
func SetClock(v *Verifier, now func() time.Time) {
	v.now = now
	if v.portal != nil {
		v.portal.now = now
	}
}
