package main

import (
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A stack whose ports are taken (another stack 1000 away lands its admin listeners on
// this one's) is refused before anything starts, naming each port taken and what
// of the stack it is.
func TestAStackWhosePortsAreTakenSaysWhich(t *testing.T) {
	offset := -1
	for _, o := range []int{31_000, 32_000, 33_000, 34_000, 35_000} {
		if portsFree(o) == nil {
			offset = o
			break
		}
	}
	if offset < 0 {
		t.Skip("no offset with every port free on this machine")
	}
	ln, err := net.Listen("tcp", addr(9081, offset)) // where signatory's admin listener goes
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = portsFree(offset)
	if err == nil || !strings.Contains(err.Error(), addr(9081, offset)+" (signatory's admin listener)") || !strings.Contains(err.Error(), "10000 apart") {
		t.Errorf("with signatory's admin port taken: %v", err)
	}
}

// A tcdev killed outright (a crash, kill -9, a bench ended by its timeout) takes its
// stack's processes with it: every port the stack held is free again soon after.
// Before, they outlived it and held their ports (Mailpit, which logs nothing when
// idle, outlived every other), so the next stack on those ports refused to start,
// and a bench polling /readyz there found the old stack instead of its own.
func TestAStackKilledOutrightLeavesNoProcessBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the kernel stops a dead parent's children only on Linux")
	}
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSuite(t, root)
	st := startStack(t, bin, t.TempDir())
	st.kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := portsFree(st.offset)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after tcdev was killed its stack still holds ports: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
