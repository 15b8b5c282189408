package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Selector names one element of the page. Journeys should prefer Role and Label,
// which find elements by what a person sees and a screen reader announces (the
// accessible name Chromium computes), so a journey that passes also shows the page
// names its controls; CSS is for what has no such name, such as a heading's text.
//
// Every selector must match exactly one element: a journey that could click either of
// two buttons says which.
type Selector struct {
	css   string
	role  string
	name  string
	label bool
}

// CSS selects the element matching a CSS selector.
func CSS(selector string) Selector { return Selector{css: selector} }

// Role selects the element with this ARIA role (implicit or explicit: "button",
// "link", "textbox", "heading", ...) and this accessible name.
func Role(role, name string) Selector { return Selector{role: role, name: name} }

// Label selects the form control whose accessible name is text, which for a control
// with a <label> is the label's text.
func Label(text string) Selector { return Selector{name: text, label: true} }

// String describes the selector in failure messages.
func (s Selector) String() string {
	switch {
	case s.css != "":
		return fmt.Sprintf("CSS %q", s.css)
	case s.label:
		return fmt.Sprintf("the field labelled %q", s.name)
	default:
		return fmt.Sprintf("the %s named %q", s.role, s.name)
	}
}

// controlRoles are the roles of the elements a <label> can name.
var controlRoles = []string{
	"textbox", "searchbox", "combobox", "listbox", "checkbox", "radio", "spinbutton",
	"slider", "switch",
}

// find waits until the selector matches exactly one element and returns a handle on
// it, or fails the test saying what it found instead.
func (b *Browser) find(s Selector) runtime.RemoteObjectID {
	b.tb.Helper()
	deadline := time.Now().Add(b.Timeout)
	for {
		f, err := run(b, lookup(s))
		switch {
		case err == nil && f.n == 1:
			return f.id
		case errors.As(err, new(*chromedp.ExceptionError)):
			b.tb.Fatalf("browsertest: find %s: %v", s, err) // a bad selector stays bad
		case !time.Now().Before(deadline):
			switch {
			case err != nil:
				// A page replaced while it was searched fails the search; only one
				// that still fails at the deadline is an error.
				b.tb.Fatalf("browsertest: find %s: %v", s, err)
			case f.n == 0:
				b.tb.Fatalf("browsertest: nothing on %s matches %s", b.CurrentURL(), s)
			default:
				b.tb.Fatalf("browsertest: %d elements on %s match %s; say which one", f.n, b.CurrentURL(), s)
			}
		}
		// The page may still be rendering what the journey waits for: poll.
		select {
		case <-time.After(50 * time.Millisecond):
		case <-b.ctx.Done():
			b.tb.Fatalf("browsertest: find %s: %v", s, b.ctx.Err())
		}
	}
}

type found struct {
	id runtime.RemoteObjectID
	n  int
}

// lookup is one attempt to find the selector's elements: a handle on the element when
// exactly one matches, and how many matched.
func lookup(s Selector) chromedp.Action[found] {
	return func(ctx context.Context, t *chromedp.Target) (found, error) {
		doc, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "document", ObjectGroup: objectGroup})
		if err != nil {
			return found{}, err
		}
		if doc.Result == nil || doc.Result.ObjectID == "" {
			return found{}, nil // between documents
		}
		if s.css != "" {
			return lookupCSS(ctx, t, doc.Result.ObjectID, s.css)
		}
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			ObjectID: doc.Result.ObjectID, AccessibleName: s.name, Role: s.role,
		})
		if err != nil {
			return found{}, fmt.Errorf("query accessibility tree: %w", err)
		}
		var matches []*accessibility.Node
		for _, n := range res.Nodes {
			if n.Ignored || n.BackendDOMNodeID == 0 {
				continue
			}
			if s.label && !slices.Contains(controlRoles, axString(n.Role)) {
				continue
			}
			matches = append(matches, n)
		}
		if len(matches) != 1 {
			return found{n: len(matches)}, nil
		}
		obj, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: matches[0].BackendDOMNodeID, ObjectGroup: objectGroup})
		if err != nil {
			return found{}, fmt.Errorf("resolve node: %w", err)
		}
		return found{id: obj.Object.ObjectID, n: 1}, nil
	}
}

// lookupCSS runs querySelectorAll in the page and hands back the element when there
// is exactly one.
func lookupCSS(ctx context.Context, t *chromedp.Target, doc runtime.RemoteObjectID, selector string) (found, error) {
	arg, err := json.Marshal(selector)
	if err != nil {
		return found{}, err
	}
	res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: `function (sel) { const all = this.querySelectorAll(sel); return all.length === 1 ? all[0] : all.length; }`,
		ObjectID:            doc,
		Arguments:           []*runtime.CallArgument{{Value: jsonv2.Value(arg)}},
		ObjectGroup:         objectGroup,
	})
	if err != nil {
		return found{}, err
	}
	if res.ExceptionDetails != nil {
		return found{}, &chromedp.ExceptionError{ExceptionDetails: res.ExceptionDetails}
	}
	if res.Result.Type == runtime.RemoteObjectTypeNumber {
		var n int
		if err := json.Unmarshal(res.Result.Value, &n); err != nil {
			return found{}, err
		}
		return found{n: n}, nil
	}
	return found{id: res.Result.ObjectID, n: 1}, nil
}

// axString reads a string-valued accessibility property.
func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return ""
	}
	return s
}

// callOn calls a function with the element as `this` and decodes its JSON result.
func callOn[T any](b *Browser, el runtime.RemoteObjectID, function string, args ...any) (T, error) {
	return run(b, func(ctx context.Context, t *chromedp.Target) (T, error) {
		var zero T
		var cargs []*runtime.CallArgument
		for _, a := range args {
			raw, err := json.Marshal(a)
			if err != nil {
				return zero, err
			}
			cargs = append(cargs, &runtime.CallArgument{Value: jsonv2.Value(raw)})
		}
		res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: function,
			ObjectID:            el,
			Arguments:           cargs,
			ReturnByValue:       ptr(true),
			AwaitPromise:        ptr(true),
		})
		if err != nil {
			return zero, err
		}
		if res.ExceptionDetails != nil {
			return zero, &chromedp.ExceptionError{ExceptionDetails: res.ExceptionDetails}
		}
		var v T
		if len(res.Result.Value) == 0 {
			return v, nil
		}
		if err := json.Unmarshal(res.Result.Value, &v); err != nil {
			return zero, fmt.Errorf("decode %s: %w", res.Result.Value, err)
		}
		return v, nil
	})
}

func ptr[T any](v T) *T { return &v }
