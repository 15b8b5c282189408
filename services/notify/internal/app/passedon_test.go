package app

import "testing"

// The email telling a lead their address changed, once it says they no longer lead,
// takes the subject the email telling a lead the role passed on has for the same
// news of the head (handOver's, noLongerHead's): it read "your address ... has
// changed" above a body that said they were no longer the lead.
func TestASubjectOfAnAddressChangedReadsAsNoLongerLead(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Technician Commitment: your address as Uni A's nominated lead has changed":                                             "Technician Commitment: you are no longer Uni A's nominated lead",
		"Technician Commitment: your address as Uni A's nominated lead has changed, and you are no longer recorded as its head": "Technician Commitment: you are no longer Uni A's nominated lead or recorded as its head",
		"Technician Commitment: your address as Uni A's nominated lead and head has changed":                                    "Technician Commitment: you are no longer Uni A's nominated lead, and your address as its head has changed",
	} {
		if got := asNoLongerLead(in); got != want {
			t.Errorf("asNoLongerLead(%q) = %q, want %q", in, got, want)
		}
	}
}
