package organisation

import "testing"

// A country is one ISO 3166-1 assigns: "XX", "ZZ" and "UK" have two capital letters
// and were taken, though they name no country the directory could show.
func TestACountryIsOneISO3166Assigns(t *testing.T) {
	t.Parallel()
	if len(countries) != 249 {
		t.Errorf("%d country codes held, want ISO 3166-1's 249", len(countries))
	}
	for _, code := range []string{"GB", "IE", "US", "DE", "FR", "AX", "SS", "BQ"} {
		if why := checkCountry(code); why != "" {
			t.Errorf("%s refused: %s", code, why)
		}
	}
	for _, code := range []string{"XX", "ZZ", "UK", "EU", "gb", "G", "GBR", ""} {
		if checkCountry(code) == "" {
			t.Errorf("%q taken as a country", code)
		}
	}
	if why := checkCountry("UK"); why != "must be an ISO 3166-1 alpha-2 code: the United Kingdom's is GB, not UK" {
		t.Errorf("UK refused as %q", why)
	}
}
