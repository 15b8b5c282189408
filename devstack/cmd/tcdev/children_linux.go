package main

import (
	"os/exec"
	"syscall"
)

// endWithTcdev has the kernel send cmd (one of the stack's processes) SIGTERM when
// tcdev dies, however it dies: killed outright, or ended by a write to a terminal or
// pipe that had gone. Without it a stack killed that way left its processes holding
// their ports (Mailpit, which logs nothing when idle, outlived every other), and the
// next stack on them refused to start or, worse, a bench found it instead of its own.
func endWithTcdev(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
