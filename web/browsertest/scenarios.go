package browsertest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

// The scenarios below are what a reader does. Each starts its own browser (so its own
// cookie and session) against baseURL, the root of a running reader, e.g.
// "http://127.0.0.1:8080". They assume the pipeline behind the reader writes a page for a
// symbol click, one page for a quick burst of dial turns (the last orientation wins, and
// the page says "facing" it), an answer page for a question (its provenance.cause_event_id
// is the question's event id), and stores Vault saves.

// Selectors of the reader page.
const (
	SelCells   = ".grid .cell"
	SelPages   = "#pages article.page"
	SelAnswers = "#answers article.page"
	SelVault   = "#vault li"
)

// DialSettle is how long TurnDialQuicklySeesOnePage waits after the first page, to let a
// second page (which must not come) arrive.
var DialSettle = 3 * time.Second

func count(css string) string {
	return "document.querySelectorAll(" + jsString(css) + ").length"
}

// ownCell is the selector of the cell of a section's own character, e.g. section 8's
// character in section 8.
func ownCell(section int) string {
	return SelCells + `[data-own][value^="S` + strconv.Itoa(section) + `-"]`
}

// openReader opens the reader and waits for the whole grid.
func openReader(b *Browser, baseURL string) {
	b.t.Helper()
	b.Open(strings.TrimRight(baseURL, "/") + "/")
	b.WaitFor("the 16 × 16 grid", count(SelCells)+" === 256")
}

// ClickSymbolSeesPage opens the reader, clicks the symbol of section 8's own character,
// and sees a new page appear on the same page, without a reload.
func ClickSymbolSeesPage(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	b.Screenshot("reader")
	before := b.Int(count(SelPages))
	b.Bool("(window.__gibseyNoReload = true)")
	cell := ownCell(8)
	sym := b.String("document.querySelector(" + jsString(cell) + ").value")
	b.Click(cell)
	b.WaitFor("a new page after clicking "+sym, count(SelPages)+" > "+strconv.Itoa(before))
	if !b.Bool("window.__gibseyNoReload === true") {
		t.Fatal("the page reloaded: the new page did not arrive live")
	}
	if txt := b.String("document.querySelector(" + jsString(SelPages+" .text") + ").textContent.trim()"); len(txt) < 20 {
		t.Fatalf("the new page has almost no text: %q", txt)
	}
	if !b.Bool(`document.querySelector(` + jsString(SelCells+`[value="`+sym+`"]`) + `).getAttribute('aria-pressed') === 'true'`) {
		t.Fatalf("the clicked symbol %s is not marked as current", sym)
	}
	b.Screenshot("symbol-page")
}

// TurnDialQuicklySeesOnePage chooses a symbol, waits for its page, then turns the dial
// five times in a burst (ending on E) and sees exactly one new page, facing E.
func TurnDialQuicklySeesOnePage(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	b.Click(ownCell(3))
	b.WaitFor("the symbol's page", count(SelPages)+" >= 1")
	n := b.Int(count(SelPages))
	// One script clicks all five, so the burst is quick whatever the machine's load.
	b.Bool(`(() => { for (const o of ['S','W','N','W','E']) document.querySelector('.dial .dir-' + o).click(); return true })()`)
	b.WaitFor("the dial to show E", `document.querySelector('.dial .dir-E').getAttribute('aria-pressed') === 'true'`)
	b.WaitFor("a page for the dial", count(SelPages)+" > "+strconv.Itoa(n))
	b.Settle(DialSettle)
	if got := b.Int(count(SelPages)); got != n+1 {
		t.Fatalf("spinning the dial gave %d pages, want 1", got-n)
	}
	if meta := b.String("document.querySelector(" + jsString(SelPages+" .meta") + ").textContent"); !strings.Contains(meta, "facing E") {
		t.Fatalf("the dial's page is not facing the last orientation E: %q", meta)
	}
	b.Screenshot("dial-one-page")
}

// AskPrompt is the question AskSeesAnswer asks: it carries markup that must stay text.
const AskPrompt = `What does the gate remember? <b>bold</b><img src=x onerror="window.__gibseyPwned=1"><script>window.__gibseyPwned=2</script>`

// AskSeesAnswer asks a question (with markup in it) and sees the answer page appear under
// Receive, the question listed as text, and nothing of the markup run.
func AskSeesAnswer(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	b.Type("#prompt", AskPrompt)
	b.Click("form.ask button[type=submit]")
	b.WaitFor("the question in the list", count("#asks li")+" >= 1")
	b.WaitFor("the answer under Receive", count(SelAnswers)+" >= 1")
	b.WaitFor("the question marked answered", count("#asks li a.answer")+" >= 1")
	if q := b.String(`document.querySelector('#asks li q').textContent`); q != AskPrompt {
		t.Fatalf("the question is not shown as text: %q", q)
	}
	if b.Bool(`document.querySelector('#asks img, #answers img, #asks b, #answers script') !== null`) {
		t.Fatal("markup of the question became elements")
	}
	if !b.Bool(`typeof window.__gibseyPwned === 'undefined'`) {
		t.Fatal("script in the question ran")
	}
	// After a reload the question and its answer come from the server, still escaped.
	b.Reload()
	b.WaitFor("the answer after a reload", count(SelAnswers)+" >= 1")
	if !b.Bool(`typeof window.__gibseyPwned === 'undefined' && document.querySelector('#asks img') === null`) {
		t.Fatal("markup of the question ran after a reload")
	}
	b.Screenshot("ask-answer")
}

// SaveToVaultSeesTimeline saves a page to the Vault with a label and notes and sees it on
// the Vault timeline, then on the Vault page.
func SaveToVaultSeesTimeline(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	b.Click(ownCell(5))
	b.WaitFor("a page", count(SelPages)+" >= 1")
	first := SelPages + ":first-child"
	b.Click(first + " .vaultform summary")
	b.Type(first+` .vaultform input[name="label"]`, "kept for later")
	b.Type(first+` .vaultform textarea[name="notes"]`, "the ride at night")
	b.Click(first + ` .vaultform button[type="submit"]`)
	b.WaitFor("the saved page on the Vault timeline", `[...document.querySelectorAll('#vault li')].some(li => li.textContent.includes('kept for later'))`)
	b.Screenshot("vault-timeline")
	b.Open(strings.TrimRight(baseURL, "/") + "/vault")
	b.WaitForReloading("the saved page on the Vault page", `[...document.querySelectorAll('#vault li')].some(li => li.textContent.includes('kept for later') && li.textContent.includes('the ride at night'))`, 2*time.Second)
}

// ReloadRestoresSession chooses a symbol, turns the dial to W, waits for the pages, then
// reloads and finds the same cell chosen, the dial on W and the pages listed.
func ReloadRestoresSession(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	cell := ownCell(12)
	sym := b.String("document.querySelector(" + jsString(cell) + ").value")
	b.Click(cell)
	b.WaitFor("the symbol's page", count(SelPages)+" >= 1")
	b.Click(".dial .dir-W")
	b.WaitFor("the dial's page", count(SelPages)+" >= 2")
	ids := b.String(`[...document.querySelectorAll('#pages article.page')].map(a => a.id).sort().join(' ')`)
	restored := `document.querySelector('.dial .dir-W').getAttribute('aria-pressed') === 'true'` +
		` && document.querySelector(` + jsString(SelCells+`[value="`+sym+`"]`) + `).getAttribute('aria-pressed') === 'true'` +
		` && [...document.querySelectorAll('#pages article.page')].map(a => a.id).sort().join(' ') === ` + jsString(ids)
	b.Reload()
	// The events may still be on their way to the store: reload until they are there.
	b.WaitForReloading("the session restored after a reload", restored, 2*time.Second)
	b.Screenshot("reload-restored")
}

// NoJSFlow does the reader's flow with JavaScript off: every action is a form post and a
// redirect back; the page reloads itself until the new page is there.
func NoJSFlow(t *testing.T, baseURL string) {
	b := Start(t, Options{NoJS: true})
	openReader(b, baseURL)
	if b.Bool(`document.querySelector('#reader').hasAttribute('data-live-state')`) {
		t.Fatal("the page's script ran with JavaScript off")
	}
	b.Click(ownCell(8))
	b.WaitForReloading("the page written for the symbol", count(SelPages)+" >= 1", 5*time.Second)
	if !b.Bool(`location.pathname === '/'`) {
		t.Fatalf("not back on the reader after the form post: %s", b.String("location.href"))
	}
	b.Screenshot("nojs-page")

	b.Type("#prompt", "Where does the path go?")
	b.Click("form.ask button[type=submit]")
	b.WaitForReloading("the answer under Receive", count(SelAnswers)+" >= 1", 5*time.Second)

	first := SelPages + ":first-child"
	b.Click(first + " .vaultform summary")
	b.Type(first+` .vaultform input[name="label"]`, "no script needed")
	b.Click(first + ` .vaultform button[type="submit"]`)
	b.WaitForReloading("the saved page on the Vault timeline", `[...document.querySelectorAll('#vault li')].some(li => li.textContent.includes('no script needed'))`, 5*time.Second)

	n := b.Int(count(SelPages))
	b.Click(".dial .dir-S")
	b.WaitForReloading("the dial on S and its page", `document.querySelector('.dial .dir-S').getAttribute('aria-pressed') === 'true' && `+count(SelPages)+" > "+strconv.Itoa(n), 5*time.Second)

	// An input error comes back on the page, readable.
	b.Bool(`(() => { const t = document.querySelector('#prompt'); t.removeAttribute('required'); t.value = '   '; return true })()`)
	b.Click("form.ask button[type=submit]")
	b.WaitFor("the error on the page", `document.querySelector('.notice.error') !== null && document.querySelector('.notice.error').textContent.includes('prompt')`)
	b.Screenshot("nojs-error")
}

// KeyboardChoosesSymbol moves through the grid with the arrow keys and chooses a symbol
// with Enter, and sees its page.
func KeyboardChoosesSymbol(t *testing.T, baseURL string) {
	b := Start(t, Options{})
	openReader(b, baseURL)
	b.Bool(`(document.querySelector('.grid .cell[tabindex="0"]').focus(), true)`)
	b.Keys(kb.ArrowRight + kb.ArrowDown)
	want := b.String(`document.querySelectorAll('.grid .cell')[17].value`)
	if got := b.String(`document.activeElement.value || ''`); got != want {
		t.Fatalf("arrow keys moved focus to %q, want %q", got, want)
	}
	b.Keys(kb.Enter)
	b.WaitFor("the page for "+want, count(SelPages)+" >= 1")
	if !b.Bool(`document.querySelector(` + jsString(SelCells+`[value="`+want+`"]`) + `).getAttribute('aria-pressed') === 'true'`) {
		t.Fatalf("Enter did not choose %s", want)
	}
}

// PhoneLayoutFits opens the reader on a phone-sized screen: the whole grid fits the
// width (no sideways scrolling) and a symbol can be tapped.
func PhoneLayoutFits(t *testing.T, baseURL string) {
	b := Start(t, Options{Phone: true})
	openReader(b, baseURL)
	if !b.Bool(`document.documentElement.scrollWidth <= window.innerWidth + 1`) {
		t.Fatalf("the page is wider (%d) than the phone (%d)", b.Int("document.documentElement.scrollWidth"), b.Int("window.innerWidth"))
	}
	if !b.Bool(`(() => { const r = document.querySelector('.grid').getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth + 1 })()`) {
		t.Fatal("the grid does not fit the phone's width")
	}
	b.Screenshot("phone")
}

// Scenario is a reader scenario against a base URL.
type Scenario struct {
	Name string
	Run  func(t *testing.T, baseURL string)
}

// All lists every scenario, in a sensible order.
var All = []Scenario{
	{"ClickSymbolSeesPage", ClickSymbolSeesPage},
	{"TurnDialQuicklySeesOnePage", TurnDialQuicklySeesOnePage},
	{"AskSeesAnswer", AskSeesAnswer},
	{"SaveToVaultSeesTimeline", SaveToVaultSeesTimeline},
	{"ReloadRestoresSession", ReloadRestoresSession},
	{"NoJSFlow", NoJSFlow},
	{"KeyboardChoosesSymbol", KeyboardChoosesSymbol},
	{"PhoneLayoutFits", PhoneLayoutFits},
}

// RunAll runs every scenario as a subtest of t against baseURL.
func RunAll(t *testing.T, baseURL string) {
	for _, s := range All {
		t.Run(s.Name, func(t *testing.T) { s.Run(t, baseURL) })
	}
}
