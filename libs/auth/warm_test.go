package auth_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// A service's first check of a token after it starts costs what its later checks of
// unseen tokens cost: Prefetch, which runs before the service says it is ready, has
// already done what a process does only the first time (the signature algorithm's
// self-test and tables, the decoders of a token's claims). Measured in a process of
// its own, whose first check it is, by what the check allocates: the first check
// allocated about three times the second before.
func TestTheFirstCheckOfATokenCostsWhatTheNextDoes(t *testing.T) {
	if os.Getenv("TC_AUTH_FIRST_CHECK") != "" {
		firstCheck(t)
		return
	}
	issuer, keys := serveIssuer(t)
	var tokens []string
	for i := range 2 { // two callers: two tokens, each unseen by the checking process
		tok, err := issuer.MintFor(auth.Principal{Subject: fmt.Sprintf("p-%d", i), Role: auth.RoleLead, Org: "org1"}, 5*time.Minute, audience)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	// The child process knows the issuer's keys only by its JWKS, as a service does.
	// The count is the whole process's (under -race too), so a background allocation
	// can land in a check's window: a process whose first check costs what the next
	// does in one of three starts passes (a cold first check costs several times as
	// many allocations as the next, in every start).
	var runs []string
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTheFirstCheckOfATokenCostsWhatTheNextDoes$", "-test.v")
		cmd.Env = append(os.Environ(), "TC_AUTH_FIRST_CHECK=1", "TC_AUTH_JWKS="+keys, "TC_AUTH_ISSUER="+issuer.Issuer,
			"TC_AUTH_TOKENS="+strings.Join(tokens, " "))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the checking process: %v\n%s", err, out)
		}
		var first, next uint64
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "allocations:"); ok {
				f := strings.Fields(rest)
				first, _ = strconv.ParseUint(f[0], 10, 64)
				next, _ = strconv.ParseUint(f[1], 10, 64)
			}
		}
		t.Logf("allocations of the first check and of the next (another unseen token): %d, %d", first, next)
		if next > 0 && first <= next+next/4 {
			return
		}
		runs = append(runs, fmt.Sprintf("%d against %d", first, next))
	}
	t.Errorf("the first check of a token allocated more than the next in every start (%s): the first should cost what the next does", strings.Join(runs, ", "))
}

// firstCheck runs in the child: it prefetches as a starting service does, then checks
// the two tokens, each unseen, and prints what each check allocated.
func firstCheck(t *testing.T) {
	v, err := auth.NewVerifier(config.Auth{JWKSURL: os.Getenv("TC_AUTH_JWKS"), Issuer: os.Getenv("TC_AUTH_ISSUER"), Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	var counts []uint64
	for _, tok := range strings.Fields(os.Getenv("TC_AUTH_TOKENS")) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		counts = append(counts, after.Mallocs-before.Mallocs)
	}
	fmt.Printf("allocations: %d %d\n", counts[0], counts[1])
}
