package authoring

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gibsey/gibsey/host/internal/wasmbuild"
)

// ModulePath is the Go module path of the Gibsey checkout.
const ModulePath = "github.com/gibsey/gibsey"

// ErrNoRoot is returned when the Gibsey checkout (its go.mod) cannot be found.
var ErrNoRoot = errors.New("cannot find the Gibsey checkout: run from inside it or set GIBSEY_ROOT to its folder")

// FindRoot returns the folder of the Gibsey checkout: $GIBSEY_ROOT when set, else the first
// folder from dir upward whose go.mod declares module github.com/gibsey/gibsey.
func FindRoot(dir string) (string, error) {
	if r := os.Getenv("GIBSEY_ROOT"); r != "" {
		if !isGibseyRoot(r) {
			return "", fmt.Errorf("GIBSEY_ROOT=%s: no go.mod of module %s there", r, ModulePath)
		}
		return filepath.Abs(r)
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if isGibseyRoot(d) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ErrNoRoot
		}
		d = parent
	}
}

func isGibseyRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && f[1] == ModulePath {
			return true
		}
	}
	return false
}

// ASCOptions are the AssemblyScript compiler flags every Gibsey voice is built with.
var ASCOptions = []string{"--runtime", "incremental", "-O3"}

// FindASC returns the AssemblyScript compiler to run: $GIBSEY_ASC when set, else asc from
// node_modules in dir (a voice that installed its own), else the one of the SDK in
// root/sdk/as (installed there by `npm ci`).
func FindASC(root, dir string) (string, error) {
	if p := os.Getenv("GIBSEY_ASC"); p != "" {
		return p, nil
	}
	var tried []string
	for _, d := range []string{dir, filepath.Join(root, "sdk", "as")} {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "node_modules", ".bin", "asc")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("AssemblyScript compiler not found (tried %s): run `npm ci` in %s",
		strings.Join(tried, ", "), filepath.Join(root, "sdk", "as"))
}

// BuildAS compiles the AssemblyScript entry file to outFile with asc and ASCOptions.
func BuildAS(ctx context.Context, asc, entry, outFile string) error {
	abs, err := filepath.Abs(outFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	tmp := abs + ".tmp"
	args := append([]string{entry, "-o", tmp}, ASCOptions...)
	cmd := exec.CommandContext(ctx, asc, args...)
	cmd.Dir = filepath.Dir(entry)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("asc %s: %v\n%s", entry, err, strings.TrimSpace(out.String()))
	}
	if _, err := os.Stat(tmp); err != nil {
		return fmt.Errorf("asc %s wrote no module: %s", entry, strings.TrimSpace(out.String()))
	}
	return os.Rename(tmp, abs)
}

// BuildGo compiles the Go voice in dir to outFile (GOOS=wasip1 GOARCH=wasm, c-shared).
func BuildGo(ctx context.Context, dir, outFile string) error {
	return wasmbuild.Build(ctx, dir, outFile)
}

// Lang tells which language the voice in dir is written in: "go" when it has .go files,
// "as" when it has an index.ts, else an error.
func Lang(dir string) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(m) > 0 {
		return "go", nil
	}
	if _, err := os.Stat(filepath.Join(dir, "index.ts")); err == nil {
		return "as", nil
	}
	return "", fmt.Errorf("%s: no voice here (want *.go files or an index.ts)", dir)
}

// Build builds the voice in dir into dir/NAME.wasm, where NAME is the manifest's name
// (dir/NAME.manifest.json, or dir/manifest.json), and returns the path of the .wasm.
func Build(ctx context.Context, dir string) (string, error) {
	lang, err := Lang(dir)
	if err != nil {
		return "", err
	}
	_, name, err := FindManifest(dir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name+".wasm")
	switch lang {
	case "go":
		return out, BuildGo(ctx, dir, out)
	default:
		root, err := FindRoot(dir)
		if err != nil {
			if root, err = FindRoot("."); err != nil {
				return "", err
			}
		}
		asc, err := FindASC(root, dir)
		if err != nil {
			return "", err
		}
		entry, err := filepath.Abs(filepath.Join(dir, "index.ts"))
		if err != nil {
			return "", err
		}
		return out, BuildAS(ctx, asc, entry, out)
	}
}

// errNoASC marks a FindASC failure (the compiler is not installed).
type errNoASC struct{ error }

// IsNoASC reports whether err says the AssemblyScript compiler is not installed.
func IsNoASC(err error) bool {
	var e errNoASC
	return errors.As(err, &e)
}

// BuildASCached builds the AssemblyScript entry file (relative to root, or absolute) into a
// cache folder keyed by the entry's folder, the AS SDK's sources and the compiler's lock file,
// so that repeated test runs do not rebuild; it returns the .wasm path.
func BuildASCached(ctx context.Context, root, entry string) (string, error) {
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(root, entry)
	}
	asc, err := FindASC(root, filepath.Dir(entry))
	if err != nil {
		return "", errNoASC{err}
	}
	h := sha256.New()
	for _, d := range []string{filepath.Join(root, "sdk", "as", "assembly"), filepath.Dir(entry)} {
		files, _ := filepath.Glob(filepath.Join(d, "*.ts"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
			h.Write(b)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(root, "sdk", "as", "package-lock.json"))
	h.Write(lock)
	fmt.Fprint(h, ASCOptions)
	key := hex.EncodeToString(h.Sum(nil))[:16]
	name := strings.TrimSuffix(filepath.Base(entry), ".ts")
	if name == "index" {
		name = filepath.Base(filepath.Dir(entry))
	}
	dir, err := wasmbuild.CachedBuild("as-"+name, key, func(dir string) error {
		return BuildAS(ctx, asc, entry, filepath.Join(dir, name+".wasm"))
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name+".wasm"), nil
}
