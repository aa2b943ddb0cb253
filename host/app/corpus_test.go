package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gibsey/gibsey/host/event"
)

// realCorpus is the novel's folder: GIBSEY_TEST_CORPUS, else ../shared/corpus beside the
// repository. It skips the test when the folder is absent.
func realCorpus(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GIBSEY_TEST_CORPUS")
	if dir == "" {
		dir = filepath.Join(moduleRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "characters.json")); err != nil {
		t.Skipf("the real corpus is absent (no characters.json in %s; set GIBSEY_TEST_CORPUS to its folder): skipping the test on the novel", dir)
	}
	return dir
}

// TestRealCorpusPrinchetta ingests the real novel (embedded mode) and checks that a page for
// princhetta (section 8) quotes her pages, 381–385.
func TestRealCorpusPrinchetta(t *testing.T) {
	dir := realCorpus(t)
	ta := startApp(t, embeddedBackend, appOpts{CorpusDir: dir})
	c := ta.characterByID(t, "princhetta")
	if c.Section != 8 || c.StartPage != 381 || c.EndPage != 385 {
		t.Fatalf("princhetta is section %d, pages %d..%d in %s; want section 8, pages 381..385", c.Section, c.StartPage, c.EndPage, dir)
	}
	pages := characterPages(t, dir, c)
	if len(pages) != 5 {
		t.Fatalf("read %d of princhetta's pages 381..385 from %s", len(pages), dir)
	}
	sid := event.NewID()
	texts := map[string]string{}
	for _, o := range []string{"N", "S"} {
		cue := ta.postSymbol(t, sid, c, o)
		_, _, pd := ta.waitPage(t, sid, cue)
		run, num, ok := sharedRun(pd.Text, pages, 8)
		if !ok {
			t.Fatalf("the %s page for princhetta quotes no run of 8 words from pages 381–385:\n%s", o, pd.Text)
		}
		t.Logf("orientation %s: the page quotes page %d: %q", o, num, run)
		ta.checkPageFromCorpus(t, pd, c)
		texts[o] = pd.Text
	}
	if texts["N"] == texts["S"] {
		t.Errorf("the pages facing North and South are the same text; the orientation should change the composition")
	}
}
