// Package wasmbuild compiles Go actor packages to WebAssembly reactors with the standard
// toolchain (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared), and gives tests the built-in plugins
// built once per test binary (Plugins).
package wasmbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Build compiles the Go main package in pkgDir to a wasip1 reactor at outFile.
func Build(ctx context.Context, pkgDir, outFile string) error {
	abs, err := filepath.Abs(outFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	tmp := abs + ".tmp"
	cmd := exec.CommandContext(ctx, goTool(), "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wasmbuild: go build %s: %v\n%s", pkgDir, err, strings.TrimSpace(out.String()))
	}
	return os.Rename(tmp, abs)
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Builtin names the built-in plugins: the output file name (without .wasm) and the package
// directory relative to the module root.
var Builtin = []struct{ Name, Dir string }{
	{"pagegen", "plugins/pagegen"},
	{"symbols", "plugins/symbols"},
	{"analyst", "plugins/voices/analyst"},
	{"commentary", "plugins/voices/commentary"},
}

// ModuleRoot finds the directory holding go.mod, from the working directory upward.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("wasmbuild: no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildPlugins builds the built-in plugins into dir (NAME.wasm) and copies each manifest
// beside it (NAME.manifest.json).
func BuildPlugins(ctx context.Context, root, dir string) error {
	for _, p := range Builtin {
		pkg := filepath.Join(root, p.Dir)
		if err := Build(ctx, pkg, filepath.Join(dir, p.Name+".wasm")); err != nil {
			return err
		}
		m, err := os.ReadFile(filepath.Join(pkg, "manifest.json"))
		if err != nil {
			return fmt.Errorf("wasmbuild: %s: %w", p.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.Name+".manifest.json"), m, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SourceHash hashes the Go sources (and manifests) under the given directories of root plus
// go.mod/go.sum and the Go version, to key a build cache.
func SourceHash(root string, dirs ...string) (string, error) {
	h := sha256.New()
	io.WriteString(h, runtime.Version())
	var files []string
	for _, f := range []string{"go.mod", "go.sum"} {
		if fileExists(filepath.Join(root, f)) {
			files = append(files, filepath.Join(root, f))
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if n := e.Name(); n == "node_modules" || n == "testdata" && p != filepath.Join(root, d) {
					return fs.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// CachedBuild builds with build() into a cache directory keyed by key under the user cache dir
// (or os.TempDir), unless a complete build with that key is already there; it returns the dir.
func CachedBuild(name, key string, build func(dir string) error) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "gibsey-wasm", name+"-"+key)
	if fileExists(filepath.Join(dir, ".complete")) {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(base, "gibsey-wasm"), name+"-tmp-")
	if err != nil {
		if err := os.MkdirAll(filepath.Join(base, "gibsey-wasm"), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Join(base, "gibsey-wasm"), name+"-tmp-"); err != nil {
			return "", err
		}
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// another process won the race: use theirs
		os.RemoveAll(tmp)
		if fileExists(filepath.Join(dir, ".complete")) {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// Plugins returns a directory holding the built-in plugins (NAME.wasm + NAME.manifest.json),
// built once per test binary: GIBSEY_TEST_PLUGINS when set (the Makefile builds them into
// bin/plugins), else a cache directory keyed by a hash of the sources, so that repeated test
// runs do not rebuild.
func Plugins(t testing.TB) string {
	t.Helper()
	pluginsOnce.Do(func() {
		if d := os.Getenv("GIBSEY_TEST_PLUGINS"); d != "" {
			pluginsDir = d
			for _, p := range Builtin {
				if !fileExists(filepath.Join(d, p.Name+".wasm")) {
					pluginsErr = fmt.Errorf("GIBSEY_TEST_PLUGINS=%s has no %s.wasm", d, p.Name)
				}
			}
			return
		}
		root, err := ModuleRoot()
		if err != nil {
			pluginsErr = err
			return
		}
		key, err := SourceHash(root, "sdk/actor", "sdk/frame", "plugins")
		if err != nil {
			pluginsErr = err
			return
		}
		pluginsDir, pluginsErr = CachedBuild("plugins", key, func(dir string) error {
			return BuildPlugins(context.Background(), root, dir)
		})
	})
	if pluginsErr != nil {
		t.Fatalf("building the built-in plugins: %v", pluginsErr)
	}
	return pluginsDir
}

// Guest builds one Go package (a test guest, e.g. testdata/misbehave, relative to the module
// root or absolute) once per cache key and returns the .wasm path.
func Guest(t testing.TB, pkgDir string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	abs := pkgDir
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, pkgDir)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		t.Fatal(err)
	}
	guestMu.Lock()
	defer guestMu.Unlock()
	if p, ok := guests[abs]; ok {
		return p
	}
	key, err := SourceHash(root, "sdk/actor", "sdk/frame", rel)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(abs)
	dir, err := CachedBuild("guest-"+name, key, func(dir string) error {
		return Build(context.Background(), abs, filepath.Join(dir, name+".wasm"))
	})
	if err != nil {
		t.Fatalf("building %s: %v", pkgDir, err)
	}
	p := filepath.Join(dir, name+".wasm")
	guests[abs] = p
	return p
}

var (
	guestMu sync.Mutex
	guests  = map[string]string{}
)
