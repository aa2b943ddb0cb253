package actors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/internal/wasmbuild"
)

func TestParseManifestNamesTheBadField(t *testing.T) {
	good := `{"name":"v","version":"1","voice":"v","handles":["page"],"self_test":{}}`
	if m, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("good manifest: %v", err)
	} else if m.MemoryMaxPages != DefaultMemoryPages || m.DeadlineMillis != DefaultDeadlineMillis || m.Encoding != "frame" {
		t.Fatalf("defaults not filled: %+v", m)
	}
	cases := map[string]string{
		`{"name":"Bad Name","version":"1","voice":"v","handles":["page"],"self_test":{}}`:                       "field name",
		`{"name":"v","voice":"v","handles":["page"],"self_test":{}}`:                                            "field version",
		`{"name":"v","version":"1","voice":"v","handles":["dance"],"self_test":{}}`:                             "field handles",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"host_functions":["fs_open"],"self_test":{}}`: "field host_functions",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"deadline_ms":999999,"self_test":{}}`:         "field deadline_ms",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"abi":3,"self_test":{}}`:                      "field abi",
		`{"name":"v","version":"1","voice":"v","handles":["page"]}`:                                             "field self_test",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"self_test":{"kind":"interpret"}}`:            "field self_test",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"self_test":{},"memroy_mb":3}`:                "unknown field",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"encoding":"xml","self_test":{}}`:             "field encoding",
		`{"name":"v","version":"1","voice":"v","handles":["page"],"output_max_bytes":99999999,"self_test":{}}`:  "field output_max_bytes",
		`not json`: "not valid JSON",
	}
	for in, want := range cases {
		if _, err := ParseManifest([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseManifest(%s) = %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestInstallRefusesBadModulesWithClearReasons(t *testing.T) {
	r := newRuntime(t, Config{})
	mis, misMan := misbehave(t)
	noRetrieve := misMan
	noRetrieve.HostFunctions = []string{"log", "state_get", "state_put", "now", "random"}
	failingSelfTest := misMan
	failingSelfTest.SelfTest = []byte(`{"prompt":"panic"}`)
	cases := []struct {
		name string
		wasm []byte
		m    Manifest
		want string
	}{
		{"not wasm", []byte("hello"), tinyManifest("t", "t", "1"), "not a valid WebAssembly module"},
		{"missing handle", tiny{omit: "handle"}.wasm(), tinyManifest("t", "t", "1"), "missing export handle"},
		{"missing memory", tiny{omit: "memory"}.wasm(), tinyManifest("t", "t", "1"), "missing export memory"},
		{"missing abi version", tiny{omit: "gibsey_abi_version"}.wasm(), tinyManifest("t", "t", "1"), "missing export gibsey_abi_version"},
		{"wrong alloc signature", tiny{allocSig: true}.wasm(), tinyManifest("t", "t", "1"), "export alloc has signature (i64) -> (i32)"},
		{"wrong ABI version", tiny{abi: 7}.wasm(), tinyManifest("t", "t", "1"), "wrong ABI version: the module speaks ABI 7"},
		{"import not in manifest", mis, noRetrieve, "gibsey.retrieve"},
		{"self-test fails", mis, failingSelfTest, "self-test failed"},
		{"bad manifest", tiny{}.wasm(), Manifest{Name: "t", Version: "1", Voice: "t"}, "field handles"},
	}
	for _, c := range cases {
		_, err := r.Install(context.Background(), c.wasm, c.m)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Install = %v, want ErrRefused mentioning %q", c.name, err, c.want)
		}
	}
	if got := len(r.Refusals()); got != len(cases) {
		t.Errorf("recorded %d refusals, want %d", got, len(cases))
	}
	if len(r.List()) != 0 || r.ForVoice("t") {
		t.Fatalf("a refused module was installed: %+v", r.List())
	}
}

func TestLoadDirLoadsBuiltinsAndRecordsRefusals(t *testing.T) {
	src := wasmbuild.Plugins(t)
	dir := t.TempDir()
	for _, name := range []string{"pagegen", "symbols", "analyst", "commentary"} {
		for _, ext := range []string{".wasm", ".manifest.json"} {
			b, err := os.ReadFile(filepath.Join(src, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, name+ext), b, 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "broken.wasm"), tiny{}.wasm(), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.manifest.json"), []byte(`{"name":"broken"`), 0o644)
	os.WriteFile(filepath.Join(dir, "orphan.wasm"), tiny{}.wasm(), 0o644)

	r := newRuntime(t, Config{})
	err := r.LoadDir(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "broken.manifest.json") || !strings.Contains(err.Error(), "orphan.wasm has no manifest") {
		t.Fatalf("LoadDir error = %v, want the broken manifest and the orphan named", err)
	}
	var names []string
	for _, in := range r.List() {
		names = append(names, in.Name+"="+in.Voice)
		wasm, _ := os.ReadFile(filepath.Join(dir, in.Name+".wasm"))
		if in.Hash != Hash(wasm) {
			t.Errorf("%s: hash %s is not the sha256 of its file", in.Name, in.Hash)
		}
	}
	if got := strings.Join(names, " "); got != "analyst=analyst commentary=commentary pagegen=page symbols=symbols" {
		t.Fatalf("loaded %s", got)
	}
	// a second look at an unchanged folder installs and refuses nothing new
	before := len(r.Refusals())
	if err := r.LoadDir(context.Background(), dir); err != nil {
		t.Fatalf("second LoadDir: %v", err)
	}
	if len(r.Refusals()) != before {
		t.Fatal("an unchanged refused file was tried again")
	}
}

func TestPageGeneratorQuotesRetrievedText(t *testing.T) {
	r := newRuntime(t, Config{})
	loadBuiltinsRelaxed(t, r)
	res, err := r.Generate(context.Background(), "page", call("princhetta", 8, "N", ""))
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ := plugin(t, "pagegen")
	if res.Provenance.Actor != "pagegen" || res.Provenance.Hash != Hash(wasm) || res.Provenance.Voice != "page" {
		t.Fatalf("provenance %+v", res.Provenance)
	}
	if len(res.Sources) == 0 {
		t.Fatal("no sources")
	}
	quoted := 0
	for _, s := range res.Sources {
		if s.CharacterID != "princhetta" || s.PageNumber < 381 || s.PageNumber > 385 {
			t.Errorf("source from outside the cell: %+v", s)
		}
		ex := strings.TrimSuffix(s.Excerpt, "…")
		for _, p := range testPassages() {
			if p.PageNumber == s.PageNumber && strings.Contains(p.Text, ex) && strings.Contains(res.Text, ex) {
				quoted++
			}
		}
	}
	if quoted != len(res.Sources) {
		t.Fatalf("%d of %d sources are quoted verbatim from their passages:\n%s", quoted, len(res.Sources), res.Text)
	}
	if strings.Contains(res.Text, "London Fox steps") || !strings.Contains(res.Title, "Princhetta") {
		t.Fatalf("title %q text:\n%s", res.Title, res.Text)
	}
	prov := res.PageProvenance(call("princhetta", 8, "N", "").Request, "")
	if len(prov.CorpusPages) == 0 || prov.ActorHash != Hash(wasm) || prov.RequestID == "" {
		t.Fatalf("page provenance %+v", prov)
	}
}

func TestPagesDifferByOrientation(t *testing.T) {
	r := newRuntime(t, Config{})
	loadBuiltinsRelaxed(t, r)
	texts := map[string]string{}
	for _, o := range []string{"N", "E", "S", "W"} {
		res, err := r.Generate(context.Background(), "page", call("princhetta", 8, o, ""))
		if err != nil {
			t.Fatal(err)
		}
		for other, text := range texts {
			if text == res.Text {
				t.Errorf("%s and %s gave the same page", o, other)
			}
		}
		texts[o] = res.Text
	}
}

func TestSameEventSamePageByteForByte(t *testing.T) {
	c := call("london-fox", 2, "W", "")
	var first Result
	for i := 0; i < 2; i++ { // a fresh runtime each time: nothing carried over but the event
		r := newRuntime(t, Config{})
		loadBuiltinsRelaxed(t, r)
		for j := 0; j < 2; j++ {
			res, err := r.Generate(context.Background(), "page", c)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && j == 0 {
				first = res
				continue
			}
			if res.Text != first.Text || res.Title != first.Title || len(res.Sources) != len(first.Sources) {
				t.Fatalf("run %d.%d differs:\n%q\nvs\n%q", i, j, res.Text, first.Text)
			}
		}
	}
}

func TestSymbolInterpreterAndVoices(t *testing.T) {
	r := newRuntime(t, Config{})
	loadBuiltinsRelaxed(t, r)
	c := call("princhetta", 8, "S", "")
	meaning, prov, err := r.Interpret(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if prov.Actor != "symbols" || !strings.HasPrefix(meaning, "Princhetta facing South") {
		t.Fatalf("meaning %q by %+v", meaning, prov)
	}
	// the meaning enriches the page request
	c.Request.Meaning = meaning
	page, err := r.Generate(context.Background(), "page", c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.Text, "The glyph means: Princhetta facing South") {
		t.Fatalf("page does not use the meaning:\n%s", page.Text)
	}
	for _, voice := range []string{"analyst", "commentary"} {
		vc := c
		vc.Request.Voice = voice
		vc.Request.ParentPageID = "55555555-5555-4555-8555-555555555555"
		vc.Request.ParentText = page.Text
		res, err := r.Generate(context.Background(), voice, vc)
		if err != nil {
			t.Fatalf("%s: %v", voice, err)
		}
		if res.Provenance.Voice != voice || len(res.Sources) == 0 || res.Sources[0].Generated != vc.Request.ParentPageID {
			t.Fatalf("%s: provenance %+v sources %+v", voice, res.Provenance, res.Sources)
		}
		if res.Text == page.Text || !strings.Contains(res.Text, "Princhetta") {
			t.Fatalf("%s answered:\n%s", voice, res.Text)
		}
	}
	if _, err := r.Generate(context.Background(), "nobody", c); !errors.Is(err, ErrNoActor) || !strings.Contains(err.Error(), `"nobody"`) {
		t.Fatalf("unknown voice: %v", err)
	}
	if _, err := r.Generate(context.Background(), "symbols", c); !errors.Is(err, ErrNoActor) || !strings.Contains(err.Error(), "does not handle") {
		t.Fatalf("page request to the interpreter: %v", err)
	}
}

func TestCompilationCacheAcrossRuntimes(t *testing.T) {
	dir := t.TempDir()
	wasm, m := plugin(t, "pagegen")
	timeLoad := func() time.Duration {
		r := newRuntime(t, Config{CacheDir: dir})
		start := time.Now()
		install(t, r, wasm, m)
		d := time.Since(start)
		r.Close(context.Background())
		return d
	}
	cold := timeLoad()
	warm := timeLoad()
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 {
		t.Fatal("the compilation cache directory is empty")
	}
	t.Logf("installing pagegen: %v with an empty cache, %v with the file cache (not asserted)", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
}
