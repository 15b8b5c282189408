package main

import (
	"os/exec"
	"syscall"
)

// stopWithBench has cmd (a stack) told to stop when the bench dies, however it dies
// (a timeout's SIGTERM, Ctrl-C, a crash): a stack left behind kept its ports, and the
// next bench on them found it instead of its own.
func stopWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
