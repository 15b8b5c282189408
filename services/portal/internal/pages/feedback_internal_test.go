package pages

import "testing"

// A theme's mean reads with a half rounded up, the same way whatever the digit: the
// mean of four reviews (2, 2, 2, 3) is 2.25, which read "2.2" beside 2.75's "2.8".
func TestAMeanOfQuartersIsRoundedHalfUp(t *testing.T) {
	t.Parallel()
	for mean, want := range map[float64]string{
		2.25: "2.3 out of 4", 2.75: "2.8 out of 4", 1.25: "1.3 out of 4", 3.5: "3.5 out of 4",
		2.35: "2.4 out of 4", float64(float32(2.35)): "2.4 out of 4", 2.249: "2.2 out of 4", 2.0: "2.0 out of 4", 4: "4.0 out of 4", 7.0 / 3: "2.3 out of 4", 8.0 / 3: "2.7 out of 4",
	} {
		if got := meanScore(mean); got != want {
			t.Errorf("meanScore(%v) = %q, want %q", mean, got, want)
		}
	}
}
