package browsertest

import (
	"context"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// SetViewport makes the tab's viewport width by height CSS pixels, for the page shown
// now and the pages loaded after: a phone's screen is 320 to 375 pixels wide, and a
// desktop window of 1280 zoomed to 200% or 400% is 640 or 320. Pages must reflow to
// fit it without scrolling sideways (WCAG 1.4.10), which PageWidth measures.
func (b *Browser) SetViewport(width, height int64) {
	b.tb.Helper()
	_, err := run(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: width, Height: height, DeviceScaleFactor: 1,
		})
		return err
	}))
	if err != nil {
		b.tb.Fatalf("browsertest: set the viewport to %dx%d: %v", width, height, err)
	}
}

// PageWidth is how wide the page's document is against the viewport's width, in CSS
// pixels.
type PageWidth struct {
	// Scroll is the document's width (document.documentElement.scrollWidth), Client
	// the viewport's without its scrollbar (clientWidth).
	Scroll int `json:"scroll"`
	Client int `json:"client"`
}

// ScrollsSideways reports whether the document is wider than the viewport, so that a
// person has to scroll sideways to see all of it.
func (w PageWidth) ScrollsSideways() bool { return w.Scroll > w.Client }

// PageWidth measures the page as it is now.
func (b *Browser) PageWidth() PageWidth {
	b.tb.Helper()
	w, err := evaluate[PageWidth](b, `({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})`)
	if err != nil {
		b.tb.Fatalf("browsertest: page width of %s: %v", b.CurrentURL(), err)
	}
	return w
}

// Box is where an element is drawn, in CSS pixels from the viewport's top left
// corner (getBoundingClientRect), with the start of its HTML to say which it is.
type Box struct {
	Left    float64 `json:"left"`
	Right   float64 `json:"right"`
	Top     float64 `json:"top"`
	Bottom  float64 `json:"bottom"`
	Element string  `json:"element"`
}

// Boxes returns the boxes of every element the CSS selector matches, in document
// order; none is not an error, unlike a Selector, which must match exactly one.
func (b *Browser) Boxes(css string) []Box {
	b.tb.Helper()
	bs, err := evaluate[[]Box](b, `Array.from(document.querySelectorAll(`+jsString(css)+`), el => {
		const r = el.getBoundingClientRect();
		return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, element: el.outerHTML.slice(0, 120)};
	})`)
	if err != nil {
		b.tb.Fatalf("browsertest: boxes of %q: %v", css, err)
	}
	return bs
}

// SetCookie gives the browser a cookie for the site at url, written "name=value" as
// a Cookie header carries it: a journey that needs a person signed in, but is not
// about signing in, can use a session signed in over HTTP.
func (b *Browser) SetCookie(url, cookie string) {
	b.tb.Helper()
	name, value, ok := strings.Cut(cookie, "=")
	if !ok || name == "" {
		b.tb.Fatalf("browsertest: set cookie %q: want name=value", cookie)
	}
	_, err := run(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: url})
		return err
	}))
	if err != nil {
		b.tb.Fatalf("browsertest: set cookie %s for %s: %v", name, url, err)
	}
}

// BrokenWords lists the words, in the elements the CSS selector matches, that are
// drawn across two lines: a name broken mid-word ("Engin-eering") because a column
// was squeezed narrower than its words, or a heading set larger than the screen,
// where a word that fits the line should have moved whole to the next one. A word is
// a run of text between spaces; a line may end after a hyphen in it ("Vice-" of
// "Vice-Chancellor"), so it is broken when the letters of one of its hyphenated parts
// are drawn on more than one line. Text in a code element (an address to copy) is
// left out.
func (b *Browser) BrokenWords(css string) []string {
	b.tb.Helper()
	words, err := evaluate[[]string](b, `(() => {
		const broken = [];
		const oneLine = (node, from, to) => {
			const r = document.createRange();
			r.setStart(node, from);
			r.setEnd(node, to);
			return new Set(Array.from(r.getClientRects(), rect => Math.round(rect.top))).size <= 1;
		};
		for (const el of document.querySelectorAll(`+jsString(css)+`)) {
			const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
			for (let node = walk.nextNode(); node; node = walk.nextNode()) {
				if (node.parentElement.closest("code")) continue;
				for (const word of node.data.matchAll(/\S+/g)) {
					for (const part of word[0].matchAll(/[^\-\u2010\u2011]+/g)) {
						const from = word.index + part.index;
						if (!oneLine(node, from, from + part[0].length)) {
							broken.push(word[0]);
							break;
						}
					}
				}
			}
		}
		return broken;
	})()`)
	if err != nil {
		b.tb.Fatalf("browsertest: broken words in %q: %v", css, err)
	}
	return words
}

// ScrollingSideways lists the start of the HTML of each element the CSS selector
// matches that is narrower than what it holds, so that a person must scroll it
// sideways to read all of it (a table's region, where the page itself fits).
func (b *Browser) ScrollingSideways(css string) []string {
	b.tb.Helper()
	els, err := evaluate[[]string](b, `Array.from(document.querySelectorAll(`+jsString(css)+`)).
		filter(el => el.scrollWidth > el.clientWidth).map(el => el.outerHTML.slice(0, 120))`)
	if err != nil {
		b.tb.Fatalf("browsertest: scrolling elements of %q: %v", css, err)
	}
	return els
}

// ComputedStyle is the computed value of a CSS property of the one element the CSS
// selector matches, as getComputedStyle gives it ("rgb(243, 242, 241)").
func (b *Browser) ComputedStyle(css, property string) string {
	b.tb.Helper()
	v, err := evaluate[string](b, `(() => {
		const els = document.querySelectorAll(`+jsString(css)+`);
		if (els.length !== 1) throw new Error(els.length + " elements match");
		return getComputedStyle(els[0]).getPropertyValue(`+jsString(property)+`);
	})()`)
	if err != nil {
		b.tb.Fatalf("browsertest: %s of %q: %v", property, css, err)
	}
	return v
}
