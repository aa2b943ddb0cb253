package authoring

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// NewOptions says what voice to scaffold.
type NewOptions struct {
	// Name is the actor's name (and, by default, its voice): [a-z0-9][a-z0-9_-]{0,62}.
	Name string
	// Lang is "go" or "as" (AssemblyScript).
	Lang string
	// Dir is the folder to create (default: ./NAME). It must not exist or be empty.
	Dir string
	// Root is the Gibsey checkout (default: found from Dir upward, or $GIBSEY_ROOT).
	Root string
}

var voiceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Scaffold creates a new voice: its source (main.go against sdk/actor, or index.ts against
// sdk/as), its manifest NAME.manifest.json with a self-test request, and a README with the
// commands to build, run and upload it. A Go voice outside the checkout also gets a go.mod
// that points at the checkout's SDK. It returns the files written.
func Scaffold(o NewOptions) ([]string, error) {
	if !voiceNameRE.MatchString(o.Name) {
		return nil, fmt.Errorf("voice name %q: use lower-case letters, digits, - and _ (at most 63, starting with a letter or digit)", o.Name)
	}
	switch o.Name {
	case "page", "pagegen", "symbols", "analyst", "commentary":
		return nil, fmt.Errorf("voice name %q belongs to a built-in actor; choose another name", o.Name)
	}
	if o.Lang != "go" && o.Lang != "as" {
		return nil, fmt.Errorf("--lang %q: want go or as", o.Lang)
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s already exists and is not empty: choose another --dir", dir)
	}
	root := o.Root
	if root == "" {
		// look from the target's parent (the target may not exist yet), then from here
		if root, err = FindRoot(filepath.Dir(dir)); err != nil {
			if root, err = FindRoot("."); err != nil {
				return nil, err
			}
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	inside := within(root, dir)
	data := scaffoldData{
		Name:       o.Name,
		Lang:       o.Lang,
		Dir:        dir,
		Root:       root,
		ModulePath: ModulePath,
		Title:      strings.ToUpper(o.Name[:1]) + o.Name[1:],
		GoVersion:  goDirective(root),
	}
	if rel, err := filepath.Rel(dir, filepath.Join(root, "sdk", "as", "assembly", "index")); err == nil {
		data.ASImport = filepath.ToSlash(rel)
		if !strings.HasPrefix(data.ASImport, ".") {
			data.ASImport = "./" + data.ASImport
		}
	}
	files := map[string]string{
		o.Name + ManifestSuffix: manifestTmpl,
		"README.md":             readmeTmpl,
	}
	if o.Lang == "go" {
		files["main.go"] = goTmpl
		if !inside {
			files["go.mod"] = goModTmpl
		}
	} else {
		files["index.ts"] = asTmpl
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for name, text := range files {
		t := template.Must(template.New(name).Parse(text))
		var sb strings.Builder
		if err := t.Execute(&sb, data); err != nil {
			return written, err
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	// The manifest must be one the host accepts.
	if _, err := ReadManifest(filepath.Join(dir, o.Name+ManifestSuffix)); err != nil {
		return written, errors.Join(errors.New("scaffold wrote a manifest the host refuses (a bug)"), err)
	}
	return written, nil
}

func within(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

type scaffoldData struct {
	Name, Lang, Dir, Root, ModulePath, Title, ASImport, GoVersion string
}

// goDirective is the go version of the checkout's go.mod (a voice's go.mod must be at least
// that, since it requires the checkout's module).
func goDirective(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return "1.24"
}

const manifestTmpl = `{
  "name": "{{.Name}}",
  "version": "0.1.0",
  "voice": "{{.Name}}",
  "abi": 0,
  "handles": ["page"],
  "host_functions": ["log", "retrieve"],
  "encoding": "frame",
  "memory_max_pages": {{if eq .Lang "go"}}512{{else}}64{{end}},
  "deadline_ms": 2000,
  "output_max_bytes": 65536,
  "self_test": {
    "kind": "page", "voice": "{{.Name}}", "character_id": "london-fox", "section_id": 2,
    "orientation": "N", "prompt": "What does the tower remember?"
  }
}
`

const goTmpl = `// Command {{.Name}} is a Gibsey voice: it answers a page request with the passages of the
// novel nearest to the reader's question (or to what the symbol means), in its own words.
//
// Build:  gibsey actor build   (or: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o {{.Name}}.wasm .)
// Try:    gibsey actor run {{.Name}}.wasm --event examples/events/page-request.json
package main

import (
	"fmt"
	"strings"

	"{{.ModulePath}}/sdk/actor"
)

func main() {}

func init() { actor.Page(page) }

// page writes this voice's page for one request.
func page(req *actor.Request) (*actor.Response, error) {
	// What to look for: the reader's question, else what the symbol means, else the page this
	// voice answers (voices answer every page PageGenerator writes), else the symbol.
	query := req.Prompt
	if query == "" {
		query = req.Meaning
	}
	if query == "" {
		query = excerpt(req.ParentText, 300)
	}
	if query == "" {
		query = req.SymbolID
	}
	passages, err := actor.Retrieve(query, req.CharacterID, 0, 3)
	if err != nil {
		return nil, err
	}
	resp := &actor.Response{Title: "{{.Title}} listens to " + req.CharacterID, Generator: "{{.Name}}"}
	var b strings.Builder
	if req.Prompt != "" {
		fmt.Fprintf(&b, "You asked: %s\n\n", req.Prompt)
	}
	fmt.Fprintf(&b, "Facing %s, {{.Name}} hears %d passages.\n", req.Orientation, len(passages))
	for _, p := range passages {
		fmt.Fprintf(&b, "\n“%s” (page %d)\n", excerpt(p.Text, 280), p.PageNumber)
		resp.Sources = append(resp.Sources, actor.Source{
			PassageID: p.ID, PageNumber: p.PageNumber, CharacterID: p.CharacterID,
			SectionID: p.SectionID, Excerpt: excerpt(p.Text, 160),
		})
	}
	if len(passages) == 0 {
		b.WriteString("\nThe book is silent here.\n")
	}
	resp.Text = b.String()
	actor.Log(fmt.Sprintf("{{.Name}}: %d passages for %s", len(passages), req.CharacterID))
	return resp, nil
}

// excerpt cuts s to at most n bytes at a space, without splitting a UTF-8 character.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	if i := strings.LastIndexByte(s[:n], ' '); i > n/2 {
		cut = i
	}
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
`

const goModTmpl = `module {{.Name}}

go {{.GoVersion}}

require {{.ModulePath}} v0.0.0

// The Gibsey SDK comes from your checkout.
replace {{.ModulePath}} => {{.Root}}
`

const asTmpl = `// {{.Name}}: a Gibsey voice in AssemblyScript. It answers a page request with the passages
// of the novel nearest to the reader's question (or to what the symbol means).
//
// Build:  gibsey actor build   (or: npx asc index.ts -o {{.Name}}.wasm --runtime incremental -O3)
// Try:    gibsey actor run {{.Name}}.wasm --event examples/events/page-request.json

import { Request, Response, register, retrieve, excerpt, info } from "{{.ASImport}}";
export { alloc, handle, gibsey_abi_version } from "{{.ASImport}}";

function page(req: Request): Response {
  // What to look for: the reader's question, else what the symbol means, else the page this
  // voice answers (voices answer every page PageGenerator writes), else the symbol.
  let query = req.prompt;
  if (query.length == 0) query = req.meaning;
  if (query.length == 0) query = excerpt(req.parentText, 300);
  if (query.length == 0) query = req.symbolId;
  const passages = retrieve(query, req.characterId, 0, 3);

  const resp = new Response();
  resp.title = "{{.Title}} listens to " + req.characterId;
  resp.generator = "{{.Name}}";
  let text = "";
  if (req.prompt.length > 0) text += "You asked: " + req.prompt + "\n\n";
  text += "Facing " + req.orientation + ", {{.Name}} hears " + passages.length.toString() + " passages.\n";
  for (let i = 0; i < passages.length; i++) {
    const p = passages[i];
    text += "\n“" + excerpt(p.text, 280) + "” (page " + p.pageNumber.toString() + ")\n";
    resp.sources.push(p.toSource(160));
  }
  if (passages.length == 0) text += "\nThe book is silent here.\n";
  resp.text = text;
  info("{{.Name}}: " + passages.length.toString() + " passages for " + req.characterId);
  return resp;
}

register(page);
`

const readmeTmpl = `# {{.Name}}

A Gibsey voice ({{if eq .Lang "go"}}Go, against sdk/actor{{else}}AssemblyScript, against sdk/as{{end}}).

- {{if eq .Lang "go"}}main.go{{else}}index.ts{{end}}: the voice: one function from a request to a page.
- {{.Name}}.manifest.json: its name, voice, the host functions it may call, its limits, and
  the self-test request the host runs before swapping it in.

From the Gibsey checkout ({{.Root}}):

    gibsey actor build {{.Dir}}
    gibsey actor run {{.Dir}}/{{.Name}}.wasm --event examples/events/page-request.json
    cp {{.Dir}}/{{.Name}}.wasm {{.Dir}}/{{.Name}}.manifest.json bin/plugins/     # hot swap into a running host
    gibsey actor upload {{.Dir}}/{{.Name}}.wasm --host http://localhost:8080 --token "$GIBSEY_ADMIN_TOKEN"

The voice answers requests whose voice is "{{.Name}}". See examples/first-voice/README.md.
`
