package main

import (
	"net"
	"strings"
	"testing"
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
