package browsertest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// AxeVersion is the version of axe-core vendored in axe/ (axe.min.js from the npm
// package, with its licences). To update it: npm pack axe-core@X, copy axe.min.js,
// LICENSE and LICENSE-3RD-PARTY.txt into axe/, and change this constant.
const AxeVersion = "4.14.1"

//go:embed axe/axe.min.js
var axeSource string

// WCAGTags are the axe rule tags CheckAccessibility runs: WCAG 2.0, 2.1 and 2.2 at
// levels A and AA, the level public-sector sites in the UK must meet.
var WCAGTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// Violation is one axe rule that failed on the page, with the elements it failed on.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  json.RawMessage `json:"target"`
		Summary string          `json:"summary"`
	} `json:"nodes"`
}

// String reads like `label (critical): Form elements must have labels: ["#name"]`.
func (v Violation) String() string {
	targets := make([]string, 0, len(v.Nodes))
	for _, n := range v.Nodes {
		targets = append(targets, string(n.Target))
	}
	return fmt.Sprintf("%s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(targets, " "))
}

// Blocking reports whether the violation fails a journey: serious and critical ones
// stop some people from using the page at all.
func (v Violation) Blocking() bool {
	return v.Impact == "serious" || v.Impact == "critical"
}

// Accessibility runs axe-core on the page as it is now and returns every violation of
// the WCAG A and AA rules. axe is injected through the debugger (Runtime.evaluate), not
// as a script of the page, so the page's content security policy, which forbids inline
// and foreign scripts, does not stop it and needs no exception for tests.
func (b *Browser) Accessibility() ([]Violation, error) {
	if b.jsOff {
		// axe is a script: give the page scripts back while it runs. The page's own
		// scripts were skipped when it loaded and do not run now.
		if err := b.setScripts(true); err != nil {
			return nil, fmt.Errorf("enable scripts for axe: %w", err)
		}
		defer func() {
			if err := b.setScripts(false); err != nil {
				b.tb.Errorf("browsertest: disable JavaScript again after axe: %v", err)
			}
		}()
	}
	loaded, err := evaluate[bool](b, `typeof window.axe === 'object' && window.axe.version === `+jsString(AxeVersion))
	if err != nil {
		return nil, fmt.Errorf("check for axe: %w", err)
	}
	if !loaded {
		if _, err := evaluate[bool](b, axeSource+"\n;typeof window.axe === 'object'"); err != nil {
			return nil, fmt.Errorf("inject axe-core %s: %w", AxeVersion, err)
		}
	}
	tags, err := json.Marshal(WCAGTags)
	if err != nil {
		return nil, err
	}
	vs, err := evaluate[[]Violation](b, `axe.run(document, {
		runOnly: {type: 'tag', values: `+string(tags)+`},
		resultTypes: ['violations'],
	}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
	})))`)
	if err != nil {
		return nil, fmt.Errorf("run axe-core %s: %w", AxeVersion, err)
	}
	return vs, nil
}

// CheckAccessibility runs axe-core on the page and fails tb with every serious or
// critical violation (rule, what it asks for, and the elements); moderate and minor
// ones are logged, to be fixed but not to block a journey.
func (b *Browser) CheckAccessibility(tb testing.TB) {
	tb.Helper()
	vs, err := b.Accessibility()
	if err != nil {
		tb.Fatalf("browsertest: accessibility of %s: %v", b.CurrentURL(), err)
	}
	var blocking, other []string
	for _, v := range vs {
		if v.Blocking() {
			blocking = append(blocking, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	if len(other) > 0 {
		tb.Logf("browsertest: axe-core on %s, moderate and minor:\n\t%s", b.CurrentURL(), strings.Join(other, "\n\t"))
	}
	if len(blocking) > 0 {
		tb.Errorf("browsertest: axe-core on %s found %d serious or critical violations:\n\t%s",
			b.CurrentURL(), len(blocking), strings.Join(blocking, "\n\t"))
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
