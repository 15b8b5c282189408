package browsertest

import "testing"

// WithTB returns the browser reporting to tb instead, so the harness's own tests can
// capture the failures it reports.
func (b *Browser) WithTB(tb testing.TB) *Browser {
	c := *b
	c.tb = tb
	return &c
}

// CheckHTML runs the HTML checker over the pages kept so far, as the test's end does.
func (b *Browser) CheckHTML() { b.checkHTML() }

// HTMLChecksMade is how many pages the process has given the HTML checker.
func HTMLChecksMade() int {
	checked.mu.Lock()
	defer checked.mu.Unlock()
	return checked.made
}
