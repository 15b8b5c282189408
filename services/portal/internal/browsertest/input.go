package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// MaxTabs bounds TabTo: a control that needs more presses than this is as good as
// unreachable for a person using a keyboard.
const MaxTabs = 60

// Click clicks the element with the mouse, at its centre, after scrolling it into
// view. When the click navigates, Click returns once the new page has loaded.
func (b *Browser) Click(s Selector) {
	b.tb.Helper()
	b.click(s.String(), b.find(s))
}

// click clicks the element with the mouse and waits for the page it leads to, if any.
func (b *Browser) click(what string, el runtime.RemoteObjectID) {
	b.tb.Helper()
	b.navigating("click "+what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{ObjectID: el}); err != nil {
			return fmt.Errorf("scroll into view: %w", err)
		}
		q, err := cdp.Call(ctx, t, dom.GetContentQuads, dom.GetContentQuadsParams{ObjectID: el})
		if err != nil {
			return fmt.Errorf("find where it is: %w", err)
		}
		if len(q.Quads) == 0 || len(q.Quads[0]) != 8 {
			return fmt.Errorf("it is not rendered (hidden, or of no size)")
		}
		var x, y float64
		for i := 0; i < 8; i += 2 {
			x += q.Quads[0][i] / 4
			y += q.Quads[0][i+1] / 4
		}
		for _, typ := range []input.DispatchMouseEventType{
			input.DispatchMouseEventTypeMouseMoved,
			input.DispatchMouseEventTypeMousePressed,
			input.DispatchMouseEventTypeMouseReleased,
		} {
			p := input.DispatchMouseEventParams{Type: typ, X: x, Y: y}
			if typ != input.DispatchMouseEventTypeMouseMoved {
				p.Button, p.Buttons, p.ClickCount = input.MouseButtonLeft, 1, 1
			}
			if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, p); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		return nil
	}))
}

// Fill replaces the value of the form control labelled label. For a text field it
// focuses the field, clears it and types value as text input; for a <select> it
// chooses the option whose text (or value) is value. Checkboxes and radios are
// clicked, not filled.
func (b *Browser) Fill(label, value string) {
	b.tb.Helper()
	el := b.find(Label(label))
	outcome, err := callOn[string](b, el, `function (value) {
		if (this.tagName === 'SELECT') {
			const o = Array.from(this.options).find(o => o.text.trim() === value || o.value === value);
			if (!o) return 'it has no option ' + JSON.stringify(value);
			this.value = o.value;
			this.dispatchEvent(new Event('input', {bubbles: true}));
			this.dispatchEvent(new Event('change', {bubbles: true}));
			return 'done';
		}
		if (this.type === 'checkbox' || this.type === 'radio') return 'it is a ' + this.type + ': use Click';
		this.focus();
		this.value = '';
		this.dispatchEvent(new Event('input', {bubbles: true}));
		return 'type';
	}`, value)
	if err != nil {
		b.tb.Fatalf("browsertest: fill %q: %v", label, err)
	}
	switch outcome {
	case "done":
	case "type":
		if value == "" {
			return
		}
		if _, err := run(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: value})
			return err
		})); err != nil {
			b.tb.Fatalf("browsertest: fill %q: %v", label, err)
		}
	default:
		b.tb.Fatalf("browsertest: fill %q: %s", label, outcome)
	}
}

// Submit clicks the submit button of the form that has the focus or, when nothing in
// a form has the focus, of the page's only form. A form with several submit buttons
// ("Save draft", "Submit") needs a Click on the one the journey means.
func (b *Browser) Submit() {
	b.tb.Helper()
	res, err := run(b, func(ctx context.Context, t *chromedp.Target) (*runtime.RemoteObject, error) {
		r, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{ObjectGroup: objectGroup, Expression: `(() => {
			const f = document.activeElement && document.activeElement.form;
			const forms = f ? [f] : Array.from(document.forms);
			if (forms.length !== 1) return 'the page has ' + forms.length + ' forms and none has the focus';
			const subs = Array.from(forms[0].elements).filter(e =>
				(e.tagName === 'BUTTON' || e.tagName === 'INPUT') && (e.type === 'submit' || e.type === 'image'));
			if (subs.length !== 1) return 'the form has ' + subs.length + ' submit buttons';
			return subs[0];
		})()`})
		if err != nil {
			return nil, err
		}
		if r.ExceptionDetails != nil {
			return nil, &chromedp.ExceptionError{ExceptionDetails: r.ExceptionDetails}
		}
		return r.Result, nil
	})
	if err != nil {
		b.tb.Fatalf("browsertest: submit: %v", err)
	}
	if res.ObjectID == "" {
		b.tb.Fatalf("browsertest: submit: %s", res.Value)
	}
	b.click("the submit button", res.ObjectID)
}

// Text is the element's rendered text (innerText), trimmed.
func (b *Browser) Text(s Selector) string {
	b.tb.Helper()
	el := b.find(s)
	text, err := callOn[string](b, el, `function () { return (this.innerText ?? this.textContent ?? '').trim(); }`)
	if err != nil {
		b.tb.Fatalf("browsertest: text of %s: %v", s, err)
	}
	return text
}

// Value is the current value of a form control.
func (b *Browser) Value(s Selector) string {
	b.tb.Helper()
	el := b.find(s)
	v, err := callOn[string](b, el, `function () { return String(this.value ?? ''); }`)
	if err != nil {
		b.tb.Fatalf("browsertest: value of %s: %v", s, err)
	}
	return v
}

// WaitFor waits until exactly one element matches the selector.
func (b *Browser) WaitFor(s Selector) {
	b.tb.Helper()
	b.find(s)
}

// Tab presses Tab, moving the focus to the next focusable element.
func (b *Browser) Tab() {
	b.tb.Helper()
	if _, err := run(b, chromedp.KeyEvent(kb.Tab)); err != nil {
		b.tb.Fatalf("browsertest: press Tab: %v", err)
	}
}

// ShiftTab presses Shift+Tab, moving the focus back.
func (b *Browser) ShiftTab() {
	b.tb.Helper()
	if _, err := run(b, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))); err != nil {
		b.tb.Fatalf("browsertest: press Shift+Tab: %v", err)
	}
}

// Enter presses Enter on the focused element: it follows a link, presses a button,
// or submits the form a text field is in. It waits for the page it leads to.
func (b *Browser) Enter() {
	b.tb.Helper()
	b.navigating("press Enter", chromedp.KeyEvent(kb.Enter))
}

// Space presses the space bar on the focused element: it presses a button or ticks a
// checkbox. It waits for the page it leads to, if any.
func (b *Browser) Space() {
	b.tb.Helper()
	b.navigating("press Space", chromedp.KeyEvent(" "))
}

// Type types text into the focused element, one key at a time.
func (b *Browser) Type(text string) {
	b.tb.Helper()
	if _, err := run(b, chromedp.KeyEvent(text)); err != nil {
		b.tb.Fatalf("browsertest: type %q: %v", text, err)
	}
}

// TabTo presses Tab until the focused element's accessible name is name, then checks
// that the focus can be seen (CheckFocusVisible). It fails when MaxTabs presses do not
// get there, listing where the focus went, so a journey completed with TabTo, Type,
// Enter and Space is one a person can complete with a keyboard alone.
func (b *Browser) TabTo(name string) {
	b.tb.Helper()
	var path []string
	for range MaxTabs {
		b.Tab()
		f := b.Focused()
		if f.Name == name {
			b.CheckFocusVisible(b.tb)
			return
		}
		path = append(path, f.String())
	}
	b.tb.Fatalf("browsertest: %q not reached after %d presses of Tab on %s; the focus went through: %s",
		name, MaxTabs, b.CurrentURL(), strings.Join(compact(path), ", "))
}

// compact shortens a focus path that went round the page several times.
func compact(path []string) []string {
	for i := 1; i < len(path); i++ {
		if path[i] == path[0] {
			return append(path[:i:i], "(and round again)")
		}
	}
	return path
}

// Focus describes the focused element as assistive technology sees it.
type Focus struct {
	Role string
	Name string
}

// String reads like `button "Continue"`.
func (f Focus) String() string {
	if f.Role == "" && f.Name == "" {
		return "(nothing)"
	}
	return fmt.Sprintf("%s %q", f.Role, f.Name)
}

// Focused returns the role and accessible name of the focused element, as Chromium
// computes them for screen readers; both are empty when nothing has the focus.
func (b *Browser) Focused() Focus {
	b.tb.Helper()
	f, err := run(b, func(ctx context.Context, t *chromedp.Target) (Focus, error) {
		r, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{ObjectGroup: objectGroup,
			Expression: `document.activeElement === document.body ? null : document.activeElement`})
		if err != nil {
			return Focus{}, err
		}
		if r.Result == nil || r.Result.ObjectID == "" {
			return Focus{}, nil
		}
		tree, err := cdp.Call(ctx, t, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{
			ObjectID: r.Result.ObjectID, FetchRelatives: ptr(false),
		})
		if err != nil {
			return Focus{}, fmt.Errorf("accessibility node: %w", err)
		}
		if len(tree.Nodes) == 0 {
			return Focus{}, nil
		}
		return Focus{Role: axString(tree.Nodes[0].Role), Name: axString(tree.Nodes[0].Name)}, nil
	})
	if err != nil {
		b.tb.Fatalf("browsertest: focused element: %v", err)
	}
	return f
}

// CheckFocusVisible fails tb unless the focused element shows that it has the focus
// (WCAG 2.4.7): it matches :focus-visible and its computed outline or box-shadow draws
// something. Chromium's own focus ring counts; a page style of `outline: none` without
// a replacement does not.
func (b *Browser) CheckFocusVisible(tb testing.TB) {
	tb.Helper()
	type style struct {
		Element      string `json:"element"`
		FocusVisible bool   `json:"focusVisible"`
		Outline      string `json:"outline"`
		BoxShadow    string `json:"boxShadow"`
		Drawn        bool   `json:"drawn"`
	}
	s, err := evaluate[*style](b, `(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return null;
		const cs = getComputedStyle(el);
		const clear = c => c === 'transparent' || /^rgba\(.*,\s*0\)$/.test(c);
		const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 && !clear(cs.outlineColor);
		const shadow = cs.boxShadow !== 'none' && cs.boxShadow !== '';
		return {
			element: el.outerHTML.slice(0, 120),
			focusVisible: el.matches(':focus-visible'),
			outline: cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor,
			boxShadow: cs.boxShadow,
			drawn: outline || shadow,
		};
	})()`)
	switch {
	case err != nil:
		tb.Fatalf("browsertest: focus style: %v", err)
	case s == nil:
		tb.Errorf("browsertest: focus not visible: nothing has the focus")
	case !s.FocusVisible || !s.Drawn:
		tb.Errorf("browsertest: focus not visible on %s (:focus-visible %t, outline %s, box-shadow %s)",
			s.Element, s.FocusVisible, s.Outline, s.BoxShadow)
	}
}

// WaitText waits until the element's text is want, for pages that update in place.
func (b *Browser) WaitText(s Selector, want string) {
	b.tb.Helper()
	deadline := time.Now().Add(b.Timeout)
	for {
		got := b.Text(s)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.tb.Fatalf("browsertest: text of %s is %q, want %q", s, got, want)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-b.ctx.Done():
			b.tb.Fatalf("browsertest: wait for text of %s: %v", s, b.ctx.Err())
		}
	}
}
