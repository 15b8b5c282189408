package civil

import "testing"

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from   string
		months int
		want   string
	}{
		{"2025-01-31", 1, "2025-02-28"},
		{"2024-01-31", 1, "2024-02-29"},
		{"2025-03-15", 12, "2026-03-15"},
		{"2025-08-31", 18, "2027-02-28"},
		{"2025-05-31", -1, "2025-04-30"},
		{"2025-11-30", 36, "2028-11-30"},
		{"2025-12-01", 1, "2026-01-01"},
	}
	for _, tt := range tests {
		d, err := Parse(tt.from)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.AddMonths(tt.months).String(); got != tt.want {
			t.Errorf("%s + %d months = %s, want %s", tt.from, tt.months, got, tt.want)
		}
	}
}

func TestParseRejectsNonDates(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "2025-02-30", "25-01-01", "2025-1-1", "2025-01-01T00:00:00Z"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	d := New(2026, 11, 24)
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Date
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if back != d {
		t.Errorf("round trip gave %s, want %s", back, d)
	}
}
