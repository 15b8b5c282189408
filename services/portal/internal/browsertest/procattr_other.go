//go:build !linux

package browsertest

import "syscall"

// endWithParent asks nothing of the system where it cannot kill a child with its
// parent: TestMain's StopHTMLChecker ends the checker.
func endWithParent() *syscall.SysProcAttr { return nil }
