package reliability

import "syscall"

// procAttr has the kernel kill a service if the harness itself dies (a test timeout, a
// crash), so that no service outlives its run.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
