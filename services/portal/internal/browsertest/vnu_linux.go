package browsertest

import (
	"os/exec"
	"syscall"
)

// vnuDiesWithTests has the kernel kill the checker service when the test process
// ends, however it ends (Linux's parent-death signal).
func vnuDiesWithTests(cmd *exec.Cmd) bool {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return true
}
