package browsertest

import "testing"

// WithTB returns the browser reporting to tb instead, so the harness's own tests can
// capture the failures it reports.
func (b *Browser) WithTB(tb testing.TB) *Browser {
	c := *b
	c.tb = tb
	return &c
}
