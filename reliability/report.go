package reliability

import (
	"fmt"
	"strings"
)

// Markdown renders reports as the table in docs/RELIABILITY.md, with the details below.
func Markdown(reps []*Report) string {
	var b strings.Builder
	b.WriteString("| scenario | workload | faults injected | accepted ops (attempts, broken connections, 5xx, 429 or passing 409 retried) | emails expected / received | lost | duplicated | re-sent, one Message-ID | receipt delay p50 / p99 / max |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range reps {
		fmt.Fprintf(&b, "| %s | %d organisations in %s | %s | %d (%d, %d, %d) | %d / %d | %d | %d | %d | %s / %s / %s |\n",
			r.Scenario, r.Units, r.Duration.Round(100_000_000), r.Faults, r.Ops, r.Stats.attempts, r.Stats.transport, r.Stats.unavailable,
			r.Expected, r.Emails, len(r.Lost)+len(r.Failed), len(r.Duplicated), len(r.Resent), r.P50.Round(1_000_000), r.P99.Round(1_000_000), r.MaxDelay.Round(1_000_000))
	}
	for _, r := range reps {
		if r.Poison != "" || r.Relay != "" || len(r.Resent) > 0 || len(r.Overtaken) > 0 || !r.OK() {
			fmt.Fprintf(&b, "\n**%s**\n\n", r.Scenario)
		}
		if r.Poison != "" {
			fmt.Fprintf(&b, "- Poison message: %s.\n", r.Poison)
		}
		if r.Relay != "" {
			fmt.Fprintf(&b, "- Relay crash: %s; no second email, award or ledger entry.\n", r.Relay)
		}
		for _, e := range r.Resent {
			fmt.Fprintf(&b, "- Re-sent: %s.\n", e)
		}
		for _, e := range r.Overtaken {
			fmt.Fprintf(&b, "- Overtaken, not lost: %s.\n", e)
		}
		if !r.OK() {
			fmt.Fprintf(&b, "- Problems:\n```\n%s```\n", r.Problems())
		}
	}
	return b.String()
}
