package inwords_test

import (
	"testing"
	"time"

	"github.com/itss/techcommit/libs/inwords"
)

// Every length of time the portal's waits, its sign-in lifetimes, its clock
// changes and the services' rate-limit refusals said, each the way it is said now.
func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		// Waits (a 429's page and problem detail): rounded up to the whole seconds
		// of its Retry-After, at least one.
		{0, "1 second"},
		{-time.Second, "1 second"},
		{300 * time.Millisecond, "1 second"},
		{time.Second, "1 second"},
		{1500 * time.Millisecond, "2 seconds"},
		{20 * time.Second, "20 seconds"},
		{59 * time.Second, "59 seconds"},
		{59*time.Second + time.Millisecond, "a minute"},
		{time.Minute, "a minute"},
		// The page said "2 minutes" and "2 hours" for these, and the API's problem
		// detail "61 seconds": a wait said longer than the one Retry-After sends.
		{61 * time.Second, "1 minute 1 second"},
		{time.Hour + time.Second, "1 hour 1 second"},
		{2 * time.Minute, "2 minutes"},
		{125 * time.Second, "2 minutes 5 seconds"},
		{45 * time.Minute, "45 minutes"},
		{time.Hour, "an hour"},
		{24 * time.Hour, "24 hours"},
		// Sign-in lifetimes (the session notice): the page said "1 hour" and
		// "1 minute" alone, where waits said "an hour" and "a minute".
		{8 * time.Hour, "8 hours"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{61 * time.Minute, "1 hour 1 minute"},
		{2*time.Hour + time.Minute, "2 hours 1 minute"},
		{time.Hour + time.Minute + time.Second, "1 hour 1 minute 1 second"},
		// How far the clocks move (the ops forms' London times).
		{30 * time.Minute, "30 minutes"},
		{2 * time.Hour, "2 hours"},
		{47 * time.Hour, "47 hours"},
		{48 * time.Hour, "2 days"},
		{49*time.Hour + time.Second, "2 days 1 hour 1 second"},
		{90 * 24 * time.Hour, "90 days"},
		{10 * 365 * 24 * time.Hour, "3650 days"},
	}
	for _, tt := range tests {
		if got := inwords.Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
