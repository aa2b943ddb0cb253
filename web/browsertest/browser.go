// Package browsertest drives the reader in headless Chromium (Debian's `chromium`) for
// tests: it starts a browser with JavaScript on or off, waits for what a reader would see,
// saves screenshots to $GIBSEY_TEST_ARTIFACTS, and holds the reader's scenarios (click a
// symbol and see a page, spin the dial and see one page, ask and see the answer, save to the
// Vault, reload and find the session, do it all without JavaScript) as functions that take
// the base URL of any running reader: web's own tests run them against a test pipeline, the
// host's end-to-end tests against the real one.
//
// When no Chromium is installed, Start skips the test with a message saying so.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Timeouts: generous, because the machines that run the tests are small and shared.
const (
	// WaitTimeout bounds one wait for something to appear on the page.
	WaitTimeout = 45 * time.Second
	// ScenarioTimeout bounds a whole scenario.
	ScenarioTimeout = 3 * time.Minute
)

// ChromiumPath returns the browser binary: $GIBSEY_CHROMIUM when set, else Debian's
// chromium (its real binary, not the shell wrapper), else chromium, chromium-browser,
// google-chrome or headless-shell on PATH.
func ChromiumPath() (string, bool) {
	if p := os.Getenv("GIBSEY_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		return "", false
	}
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		return "/usr/lib/chromium/chromium", true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// ArtifactsDir is where screenshots go: $GIBSEY_TEST_ARTIFACTS ("" = no screenshots).
func ArtifactsDir() string { return os.Getenv("GIBSEY_TEST_ARTIFACTS") }

// Options of a browser.
type Options struct {
	// NoJS turns JavaScript off in the page (the no-JS reader).
	NoJS bool
	// Width and Height of the viewport (default 1280 × 900).
	Width, Height int
	// Phone emulates a phone (390 × 844, touch, mobile layout) unless Width is set.
	Phone bool
}

// Browser is one headless Chromium with one tab, for one test.
type Browser struct {
	t    testing.TB
	ctx  context.Context
	opts Options
	shot int
}

// Start launches Chromium for t (skipping t when there is none) and closes it when t ends.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	path, ok := ChromiumPath()
	if !ok {
		t.Skip("browser test skipped: no Chromium found (install Debian's `chromium`, or set GIBSEY_CHROMIUM)")
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
		if o.Phone {
			o.Width, o.Height = 390, 844
		}
	}
	// Not t.TempDir: Chromium's helpers may still write there for a moment after it exits,
	// and a failed clean-up must not fail the test.
	dir, err := os.MkdirTemp("", "gibsey-chromium-")
	if err != nil {
		t.Fatalf("browsertest: user data dir: %v", err)
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-crash-reporter", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(o.Width, o.Height),
	}
	base, cancelBase := context.WithTimeout(context.Background(), ScenarioTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, flags...)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(func(string, ...any) {}))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelBase()
		removeDir(t, dir)
	})
	b := &Browser{t: t, ctx: ctx, opts: o}
	// The first action starts the browser.
	var setup []chromedp.Action[chromedp.Void]
	if o.Phone {
		setup = append(setup, chromedp.EmulateViewport(int64(o.Width), int64(o.Height), chromedp.EmulateMobile, chromedp.EmulateTouch))
	}
	if err := chromedp.Do(ctx, setup...); err != nil {
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	if o.NoJS {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("browsertest: turn JavaScript off: %v", err)
		}
	}
	return b
}

// Context is the tab's chromedp context, for actions this package does not wrap.
func (b *Browser) Context() context.Context { return b.ctx }

// Open navigates to url and waits for it to load.
func (b *Browser) Open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("browsertest: open %s: %v", url, err)
	}
}

// Reload reloads the page and waits for it to load.
func (b *Browser) Reload() {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		b.t.Fatalf("browsertest: reload: %v", err)
	}
}

// Click clicks (with the mouse) the first element matching the CSS selector.
func (b *Browser) Click(css string) {
	b.t.Helper()
	b.WaitFor("an element "+css+" to click", "document.querySelector("+jsString(css)+") !== null")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		b.t.Fatalf("browsertest: click %s: %v", css, err)
	}
}

// Type types text into the first element matching the CSS selector.
func (b *Browser) Type(css, text string) {
	b.t.Helper()
	b.WaitFor("a field "+css, "document.querySelector("+jsString(css)+") !== null")
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(css), text)); err != nil {
		b.t.Fatalf("browsertest: type into %s: %v", css, err)
	}
}

// Keys sends key presses to the focused element (see chromedp/kb for special keys).
func (b *Browser) Keys(keys string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.KeyEvent(keys)); err != nil {
		b.t.Fatalf("browsertest: keys: %v", err)
	}
}

// Eval evaluates a JavaScript expression in the page (DevTools evaluation works with
// the page's JavaScript off too) and returns its JSON value decoded into a Go value
// of the expression's kind (bool, float64, string, ...).
func (b *Browser) Eval(expr string) (any, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[any](expr))
}

// Bool evaluates an expression that must give a boolean.
func (b *Browser) Bool(expr string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("browsertest: eval %s: %v", expr, err)
	}
	return v
}

// Int evaluates an expression that must give a number.
func (b *Browser) Int(expr string) int {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		b.t.Fatalf("browsertest: eval %s: %v", expr, err)
	}
	return int(v)
}

// String evaluates an expression that must give a string.
func (b *Browser) String(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("browsertest: eval %s: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript expression until it is true, up to WaitTimeout. Errors
// while polling (a page in the middle of loading) count as "not yet".
func (b *Browser) WaitFor(what, expr string) {
	b.t.Helper()
	b.WaitForReloading(what, expr, 0)
}

// WaitForReloading is WaitFor that also reloads the page every `every` (when > 0): what a
// reader without JavaScript does while waiting for a page.
func (b *Browser) WaitForReloading(what, expr string, every time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	lastReload := time.Now()
	var lastErr error
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if b.ctx.Err() != nil || time.Now().After(deadline) {
			b.Screenshot("timeout")
			b.t.Fatalf("browsertest: timed out after %s waiting for %s (%s); last error: %v", WaitTimeout, what, expr, lastErr)
		}
		if every > 0 && time.Since(lastReload) >= every {
			_ = chromedp.Do(b.ctx, chromedp.Reload())
			lastReload = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Settle waits d so that something that should not happen (a second page) has had the
// time to happen. It asserts nothing by itself.
func (b *Browser) Settle(d time.Duration) {
	select {
	case <-time.After(d):
	case <-b.ctx.Done():
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves the viewport as a PNG named after the test and name in ArtifactsDir
// (nothing when it is not set). Failures to save are logged, not fatal.
func (b *Browser) Screenshot(name string) string {
	dir := ArtifactsDir()
	if dir == "" {
		return ""
	}
	b.shot++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("browsertest: screenshot dir: %v", err)
		return ""
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", unsafeName.ReplaceAllString(b.t.Name(), "_"), b.shot, unsafeName.ReplaceAllString(name, "_")))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Logf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", file)
	return file
}

// removeDir removes the browser's profile, retrying for a few seconds; it only logs a
// failure.
func removeDir(t testing.TB, dir string) {
	var err error
	for i := 0; i < 50; i++ {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("browsertest: could not remove %s: %v", dir, err)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "<", `\x3c`)
	return "'" + r.Replace(s) + "'"
}

// ErrNoChromium is returned by Available when no browser is installed.
var ErrNoChromium = errors.New("browsertest: no Chromium found")

// Available reports whether a browser can be started (without starting one).
func Available() error {
	if _, ok := ChromiumPath(); !ok {
		return ErrNoChromium
	}
	return nil
}
