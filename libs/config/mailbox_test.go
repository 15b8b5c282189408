package config

import "testing"

// A service's own address is a bare address: a display name, a list, a query or a
// space would break the header or the mailto: link it goes into.
func TestCheckMailboxTakesBareAddressesOnly(t *testing.T) {
	t.Parallel()
	if err := CheckMailbox("technician-commitment@itss.org.uk"); err != nil {
		t.Errorf("a bare address is refused: %v", err)
	}
	for _, bad := range []string{"", "itss.org.uk", "Technician Commitment <tc@itss.org.uk>", " tc@itss.org.uk", "tc@itss.org.uk?subject=x", "a@b, c@d"} {
		if err := CheckMailbox(bad); err == nil {
			t.Errorf("%q is accepted", bad)
		}
	}
}
