//go:build !linux

package browsertest

import "os/exec"

// vnuDiesWithTests is vnu_linux.go's; elsewhere nothing would stop the service when
// the tests end, so the command line is used.
func vnuDiesWithTests(*exec.Cmd) bool { return false }
