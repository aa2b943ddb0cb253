package authoring

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gibsey/gibsey/host/corpus"
)

const (
	sampleCorpus = "../../examples/corpus"
	eventsDir    = "../../examples/events"
)

// runMain runs the CLI and returns its exit code, stdout and stderr.
func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// requireASC skips when the AssemblyScript compiler is not installed, unless
// GIBSEY_REQUIRE_AS is set (the Makefile sets it after `npm ci` in sdk/as).
func requireASC(t *testing.T) {
	t.Helper()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FindASC(root, ""); err != nil {
		if os.Getenv("GIBSEY_REQUIRE_AS") != "" {
			t.Fatal(err)
		}
		t.Skipf("AssemblyScript test skipped: %v", err)
	}
}

// corpusText returns the sample corpus's page texts, to check a page quotes the corpus.
func corpusText(t *testing.T) string {
	t.Helper()
	c, err := corpus.Load(sampleCorpus)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, p := range c.Pages() {
		sb.WriteString(p.Text)
		sb.WriteString("\n")
	}
	return sb.String()
}

// checkPage checks the printed page of `actor run`: a title, a text quoting the corpus, and
// the provenance naming the actor and its content hash.
func checkPage(t *testing.T, out, actorName string, corpusAll string) {
	t.Helper()
	if !strings.HasPrefix(out, "# ") {
		t.Fatalf("output does not start with the page title:\n%s", out)
	}
	if !strings.Contains(out, "— written by "+actorName+" 0.1.0 (sha256 ") {
		t.Fatalf("output does not name the actor and its hash:\n%s", out)
	}
	// Some quoted passage must come from the corpus: take the first quotation.
	i := strings.Index(out, "“")
	if i < 0 {
		t.Fatalf("the page quotes no passage:\n%s", out)
	}
	q := out[i+len("“"):]
	q = q[:min(len(q), 40)]
	if !strings.Contains(corpusAll, q) {
		t.Fatalf("the quoted passage %q is not from the corpus", q)
	}
}

// TestScaffoldBuildRunGo scaffolds a Go voice outside the checkout, builds it with the
// standard toolchain and runs it against the sample events.
func TestScaffoldBuildRunGo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lantern")
	code, out, errs := runMain("new", "lantern", "--lang", "go", "--dir", dir)
	if code != 0 {
		t.Fatalf("new: exit %d: %s", code, errs)
	}
	for _, f := range []string{"main.go", "go.mod", "lantern.manifest.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("new did not write %s: %v\n%s", f, err, out)
		}
	}
	if code, _, errs := runMain("build", dir); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errs)
	}
	wasm := filepath.Join(dir, "lantern.wasm")
	all := corpusText(t)
	for _, ev := range []string{"page-request.json", "symbol-click.json", "ask.json", "page-request-bare.json", "voice-answer.json"} {
		code, out, errs := runMain("run", wasm, "--event", filepath.Join(eventsDir, ev), "--corpus", sampleCorpus)
		if code != 0 {
			t.Fatalf("run %s: exit %d: %s", ev, code, errs)
		}
		checkPage(t, out, "lantern", all)
		if !strings.Contains(errs, "lantern: 3 passages") {
			t.Errorf("run %s: the voice's log line is not shown on stderr:\n%s", ev, errs)
		}
	}
	// The symbol click is for glyph-marrow: the page is about that character.
	_, out, _ = runMain("run", wasm, "--event", filepath.Join(eventsDir, "symbol-click.json"), "--corpus", sampleCorpus, "--json")
	var res RunResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if res.Page == nil || res.Page.CharacterID != "glyph-marrow" || res.Page.Provenance.Actor != "lantern" || len(res.Page.Provenance.Sources) == 0 {
		t.Fatalf("--json page: %+v", res.Page)
	}
	for _, s := range res.Page.Provenance.Sources {
		if s.CharacterID != "glyph-marrow" {
			t.Fatalf("a source of another character: %+v", s)
		}
	}
}

// TestScaffoldBuildRunAS does the same for an AssemblyScript voice.
func TestScaffoldBuildRunAS(t *testing.T) {
	requireASC(t)
	dir := filepath.Join(t.TempDir(), "moth")
	if code, _, errs := runMain("new", "moth", "--lang", "as", "--dir", dir); code != 0 {
		t.Fatalf("new: exit %d: %s", code, errs)
	}
	if code, _, errs := runMain("build", dir); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errs)
	}
	code, out, errs := runMain("run", filepath.Join(dir, "moth.wasm"), "--event", filepath.Join(eventsDir, "page-request.json"), "--corpus", sampleCorpus)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	checkPage(t, out, "moth", corpusText(t))
}

// TestASEchoVoiceAnswers builds the example AssemblyScript voice and checks it loads in the
// real runtime (self-test included) and answers a page request with retrieved text.
func TestASEchoVoiceAnswers(t *testing.T) {
	requireASC(t)
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := BuildASCached(context.Background(), root, "examples/voices/as-echo/index.ts")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), RunOptions{
		Wasm: wasm, Manifest: filepath.Join(root, "examples/voices/as-echo/as-echo.manifest.json"),
		Event: filepath.Join(eventsDir, "page-request-bare.json"), Corpus: sampleCorpus,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Page
	if p.Title != "Echo of london-fox" || !strings.HasPrefix(p.Text, "You asked: What does the tower remember?") {
		t.Fatalf("page: %q\n%s", p.Title, p.Text)
	}
	if p.Provenance.Actor != "as-echo" || p.Provenance.Voice != "echo" || len(p.Provenance.ActorHash) != 64 || p.Provenance.Generator != "as-echo" {
		t.Fatalf("provenance: %+v", p.Provenance)
	}
	if len(p.Provenance.Sources) != 3 || len(p.Provenance.CorpusPages) == 0 {
		t.Fatalf("want 3 sources, got %+v", p.Provenance.Sources)
	}
	all := corpusText(t)
	for _, s := range p.Provenance.Sources {
		ex := strings.TrimSuffix(s.Excerpt, "…")
		if s.CharacterID != "london-fox" || s.PageNumber < 4 || s.PageNumber > 6 || !strings.Contains(all, ex[:min(len(ex), 60)]) {
			t.Fatalf("source not from london-fox's pages: %+v", s)
		}
		if !strings.Contains(p.Text, "(page "+itoa(s.PageNumber)+")") {
			t.Fatalf("the text does not cite page %d:\n%s", s.PageNumber, p.Text)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestRunRefusesBadEvents checks that `actor run` fails (exit 1) with a message naming what is
// wrong, before touching the actor.
func TestRunRefusesBadEvents(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "v.wasm")
	os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	man, err := os.ReadFile("../../examples/voices/as-echo/as-echo.manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "v.manifest.json"), bytes.Replace(man, []byte(`"as-echo"`), []byte(`"v"`), 1), 0o644)
	good, err := os.ReadFile(filepath.Join(eventsDir, "symbol-click.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ body, want string }{
		"not json":          {"hello", "not a JSON object"},
		"bad event id":      {strings.Replace(string(good), "2c7a9e14-6b3f-4d2a-8e5c-1f9b7d3a6c52", "nope", 1), "event_id"},
		"bad orientation":   {strings.Replace(string(good), `"orientation": "S"`, `"orientation": "Q"`, 1), "orientation"},
		"unknown character": {strings.Replace(string(good), `"glyph-marrow"`, `"nobody"`, 1), `"nobody" is not a character`},
		"wrong type":        {`{"event_id":"2c7a9e14-6b3f-4d2a-8e5c-1f9b7d3a6c52","type":"vault","ts":"2025-12-04T10:00:00Z","session_id":"0f6e2b9c-4a7d-4e3f-8c21-5d9a7b3e1c42","actor":"user","payload":{"page_id":"9e4b2a61-7c3d-4e8f-a5b1-2d6c9f3e7a85"}}`, `type "vault" cannot be given to an actor`},
		"bare, no section":  {`{"character_id":"london-fox","orientation":"N"}`, "section_id"},
		"bare, typo field":  {`{"character":"london-fox","section_id":2,"orientation":"N"}`, `unknown field "character"`},
	}
	for name, c := range cases {
		ev := filepath.Join(dir, "event.json")
		os.WriteFile(ev, []byte(c.body), 0o644)
		code, out, errs := runMain("run", wasm, "--event", ev, "--corpus", sampleCorpus)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and a message with %q", name, code, out, errs, c.want)
		}
	}
	// A missing event file and a missing --event.
	if code, _, errs := runMain("run", wasm, "--event", filepath.Join(dir, "absent.json")); code != 1 || !strings.Contains(errs, "absent.json") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	if code, _, errs := runMain("run", wasm); code != 1 || !strings.Contains(errs, "--event") {
		t.Errorf("no --event: exit %d, %q", code, errs)
	}
	// A module that is not a voice is refused with the reason.
	ev := filepath.Join(eventsDir, "page-request.json")
	if code, _, errs := runMain("run", wasm, "--event", ev, "--corpus", sampleCorpus); code != 1 || !strings.Contains(errs, "refused") {
		t.Errorf("an empty module: exit %d, %q", code, errs)
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runMain("new", "Bad Name", "--dir", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errs, "voice name") {
		t.Errorf("bad name: exit %d, %q", code, errs)
	}
	if code, _, errs := runMain("new", "ok", "--lang", "rust", "--dir", filepath.Join(dir, "y")); code != 1 || !strings.Contains(errs, "--lang") {
		t.Errorf("bad lang: exit %d, %q", code, errs)
	}
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	if code, _, errs := runMain("new", "ok", "--dir", dir); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("non-empty dir: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "mine" {
		t.Error("new touched a file in a non-empty folder")
	}
	if code, _, _ := runMain("new"); code != 2 {
		t.Errorf("no name: exit %d, want 2", code)
	}
	if code, _, _ := runMain("frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, errs := runMain("build", dir); code != 1 || !strings.Contains(errs, "no voice here") {
		t.Errorf("build of a folder with no voice: exit %d, %q", code, errs)
	}
}

// TestUploadAndRollback checks the requests upload and rollback send to the admin endpoints,
// and that a refusal by the host is an error showing the host's reason.
func TestUploadAndRollback(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "as-echo.wasm")
	wasmBytes := []byte("\x00asm\x01\x00\x00\x00 pretend module")
	os.WriteFile(wasm, wasmBytes, 0o644)
	man, err := os.ReadFile("../../examples/voices/as-echo/as-echo.manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "as-echo.manifest.json"), man, 0o644)

	type got struct {
		method, path, auth, name string
		wasm, manifest           []byte
	}
	reqs := make(chan got, 4)
	var refuse atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := got{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization")}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			mr, err := r.MultipartReader()
			if err == nil {
				for {
					p, err := mr.NextPart()
					if err != nil {
						break
					}
					b, _ := io.ReadAll(p)
					switch p.FormName() {
					case "name":
						g.name = string(b)
					case "wasm":
						g.wasm = b
					case "manifest":
						g.manifest = b
					}
				}
			}
		}
		reqs <- g
		w.Header().Set("Content-Type", "application/json")
		if refuse.Load() {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"error":"as-echo@0.1.0: actor refused: self-test: actor trapped"}`)
			return
		}
		io.WriteString(w, `{"name":"as-echo","version":"0.1.0","hash":"abc"}`)
	}))
	defer srv.Close()

	code, out, errs := runMain("upload", wasm, "--host", srv.URL, "--token", "s3cret")
	if code != 0 || !strings.Contains(out, `"name":"as-echo"`) {
		t.Fatalf("upload: exit %d, %q, %q", code, out, errs)
	}
	g := <-reqs
	if g.method != "POST" || g.path != "/admin/actors" || g.auth != "Bearer s3cret" || g.name != "as-echo" || !bytes.Equal(g.wasm, wasmBytes) || !bytes.Equal(g.manifest, man) {
		t.Fatalf("upload sent %s %s auth %q, wasm %d bytes, manifest %d bytes", g.method, g.path, g.auth, len(g.wasm), len(g.manifest))
	}

	t.Setenv(TokenEnv, "from-env")
	if code, _, errs := runMain("rollback", "as-echo", "--host", srv.URL+"/"); code != 0 {
		t.Fatalf("rollback: exit %d, %q", code, errs)
	}
	g = <-reqs
	if g.method != "POST" || g.path != "/admin/actors/as-echo/rollback" || g.auth != "Bearer from-env" {
		t.Fatalf("rollback sent %s %s auth %q", g.method, g.path, g.auth)
	}

	refuse.Store(true)
	code, _, errs = runMain("upload", wasm, "--host", srv.URL)
	if code != 1 || !strings.Contains(errs, "422") || !strings.Contains(errs, "self-test: actor trapped") {
		t.Fatalf("refused upload: exit %d, %q", code, errs)
	}
	<-reqs

	// Errors caught before any request.
	t.Setenv(TokenEnv, "")
	if code, _, errs := runMain("upload", wasm, "--host", srv.URL); code != 1 || !strings.Contains(errs, "--token") {
		t.Errorf("no token: exit %d, %q", code, errs)
	}
	if code, _, errs := runMain("rollback", "as-echo", "--host", "localhost:8080", "--token", "t"); code != 1 || !strings.Contains(errs, "--host") {
		t.Errorf("bad host: exit %d, %q", code, errs)
	}
	os.WriteFile(filepath.Join(dir, "as-echo.manifest.json"), []byte(`{"name":"as-echo"}`), 0o644)
	if code, _, errs := runMain("upload", wasm, "--host", srv.URL, "--token", "t"); code != 1 || !strings.Contains(errs, "manifest") {
		t.Errorf("bad manifest: exit %d, %q", code, errs)
	}
	select {
	case g := <-reqs:
		t.Fatalf("a request was sent despite a local error: %+v", g)
	default:
	}
}
