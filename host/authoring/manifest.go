package authoring

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gibsey/gibsey/host/actors"
)

// ManifestSuffix ends the name of a plugin's manifest (NAME.manifest.json beside NAME.wasm).
const ManifestSuffix = ".manifest.json"

// FindManifest finds the manifest of the voice in dir (the one NAME.manifest.json there),
// checks it, and returns its path and the actor's name.
func FindManifest(dir string) (path, name string, err error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*"+ManifestSuffix))
	switch len(files) {
	case 0:
		return "", "", fmt.Errorf("%s: no NAME%s here", dir, ManifestSuffix)
	case 1:
	default:
		return "", "", fmt.Errorf("%s: %d manifests here (%s), want one", dir, len(files), strings.Join(files, ", "))
	}
	m, err := ReadManifest(files[0])
	if err != nil {
		return "", "", err
	}
	return files[0], m.Name, nil
}

// ReadManifest reads and checks a manifest file, naming the file in errors.
func ReadManifest(path string) (actors.Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return actors.Manifest{}, err
	}
	m, err := actors.ParseManifest(b)
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ManifestFor returns the manifest path beside a .wasm file (NAME.wasm → NAME.manifest.json).
func ManifestFor(wasmFile string) string {
	return strings.TrimSuffix(wasmFile, ".wasm") + ManifestSuffix
}
