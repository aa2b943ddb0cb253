package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// layout names every file and folder the launcher uses under one base dir.
type layout struct {
	base string // absolute
}

func newLayout(dir string) (layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return layout{}, fmt.Errorf("--dir %q: %w", dir, err)
	}
	return layout{base: abs}, nil
}

func (l layout) pom(service string) string     { return filepath.Join(l.base, service+"-pom.xml") }
func (l layout) libDir(service string) string  { return filepath.Join(l.base, "lib-"+service) }
func (l layout) marker(service string) string  { return filepath.Join(l.libDir(service), ".fetched") }
func (l layout) runDir() string                { return filepath.Join(l.base, "run") }
func (l layout) confDir(service string) string { return filepath.Join(l.runDir(), service) }
func (l layout) dataDir(service string) string { return filepath.Join(l.runDir(), service, "data") }
func (l layout) pidFile(service string) string { return filepath.Join(l.runDir(), service+".pid") }
func (l layout) logFile(service string) string { return filepath.Join(l.runDir(), service+".log") }

// pomFor renders the pom of one service.
func pomFor(service string) string {
	if service == kafkaServiceName {
		return renderPOM("gibsey-kafka-lib", kafkaDependencies())
	}
	return renderPOM("gibsey-cassandra-lib", cassandraDependencies())
}

// fetchAll fetches both services' jars (one after the other: two Maven
// processes sharing ~/.m2 at once gain little on 2 cores).
func fetchAll(l layout, out io.Writer) error {
	for _, s := range []string{kafkaServiceName, cassandraServiceName} {
		if err := fetch(l, s, out); err != nil {
			return err
		}
	}
	return nil
}

// fetch copies one service's runtime jars into its lib folder with Maven's
// dependency plugin, unless the folder's marker says the same pom was
// already fetched completely.
func fetch(l layout, service string, out io.Writer) error {
	pom := pomFor(service)
	sum := sha256.Sum256([]byte(pom))
	want := hex.EncodeToString(sum[:])
	if got, err := os.ReadFile(l.marker(service)); err == nil && string(bytes.TrimSpace(got)) == want {
		return nil
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		return fmt.Errorf("fetch %s: Maven (mvn) not found on PATH: %w", service, err)
	}
	if err := os.MkdirAll(l.base, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", service, err)
	}
	if err := os.WriteFile(l.pom(service), []byte(pom), 0o644); err != nil {
		return fmt.Errorf("fetch %s: write pom: %w", service, err)
	}
	// A half-copied or outdated folder is wiped: stale jars of another
	// version on the classpath would clash.
	if err := os.RemoveAll(l.libDir(service)); err != nil {
		return fmt.Errorf("fetch %s: clear %s: %w", service, l.libDir(service), err)
	}
	fmt.Fprintf(out, "%s: fetching jars with Maven into %s ...\n", service, l.libDir(service))
	start := time.Now()
	cmd := exec.Command("mvn", "-B", "-q", "-f", l.pom(service),
		dependencyPluginCoord+":copy-dependencies",
		"-DoutputDirectory="+l.libDir(service), "-DincludeScope=runtime")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fetch %s: mvn copy-dependencies failed (%v):\n%s", service, err, lastLines(buf.String(), 40))
	}
	jars, _ := filepath.Glob(filepath.Join(l.libDir(service), "*.jar"))
	if len(jars) == 0 {
		return fmt.Errorf("fetch %s: Maven succeeded but %s holds no jar", service, l.libDir(service))
	}
	if err := os.WriteFile(l.marker(service), []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("fetch %s: write marker: %w", service, err)
	}
	fmt.Fprintf(out, "%s: %d jars fetched in %.0f s\n", service, len(jars), time.Since(start).Seconds())
	return nil
}
