package web_test

import (
	"testing"

	"github.com/gibsey/gibsey/web/browsertest"
)

// TestBrowserScenarios runs the reader's scenarios in headless Chromium against the web
// server wired to the test pipeline of helpers_test.go (a test double of the real flow;
// host/app runs the same scenarios against the real one). Screenshots of the main states
// go to $GIBSEY_TEST_ARTIFACTS when it is set.
func TestBrowserScenarios(t *testing.T) {
	if err := browsertest.Available(); err != nil {
		t.Skip("browser tests skipped: no Chromium (install Debian's `chromium` or set GIBSEY_CHROMIUM)")
	}
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	f := newFixture(t, nil)
	browsertest.RunAll(t, f.ts.URL)
}
