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

// StartHTMLCheckerOn starts a checker of its own on the first of ports that it can
// bind, returning the address it answers on and a function that stops it.
func StartHTMLCheckerOn(ports ...string) (url string, stop func(), err error) {
	saved := freePort
	defer func() { freePort = saved }()
	freePort = func() (string, error) {
		if len(ports) == 0 {
			return saved()
		}
		p := ports[0]
		ports = ports[1:]
		return p, nil
	}
	svc, err := startVnu()
	if err != nil {
		return "", nil, err
	}
	return svc.url, svc.stop, nil
}
