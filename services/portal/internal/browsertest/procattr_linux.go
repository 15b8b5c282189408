package browsertest

import "syscall"

// endWithParent has the kernel kill the HTML checker when the test process ends, even
// by a panic or a timeout that skips TestMain's StopHTMLChecker.
func endWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
