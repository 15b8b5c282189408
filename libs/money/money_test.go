package money

import (
	"math"
	"testing"
)

func TestPoundsGroupsThousandsAndShowsPenceOnlyWhenThereAreSome(t *testing.T) {
	t.Parallel()
	for pence, want := range map[int64]string{
		0:             "£0",
		5:             "£0.05",
		75000:         "£750",
		100000:        "£1,000",
		125050:        "£1,250.50",
		81250:         "£812.50",
		100000000:     "£1,000,000",
		-320:          "-£3.20",
		math.MaxInt64: "£92,233,720,368,547,758.07",
		math.MinInt64: "-£92,233,720,368,547,758.08",
	} {
		if got := Pounds(pence); got != want {
			t.Errorf("Pounds(%d) = %q, want %q", pence, got, want)
		}
	}
}
