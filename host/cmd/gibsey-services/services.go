package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Readiness and shutdown bounds.
const (
	kafkaReadyTimeout     = 120 * time.Second
	cassandraReadyTimeout = 240 * time.Second
	stopGrace             = 20 * time.Second
	logTailLines          = 40
)

func kafkaAddr() string { return net.JoinHostPort(kafkaHost, strconv.Itoa(kafkaPort)) }
func cassandraAddr() string {
	return net.JoinHostPort(cassandraHost, strconv.Itoa(cassandraCQLPort))
}

func mainClassOf(service string) string {
	if service == kafkaServiceName {
		return kafkaMainClass
	}
	return cassandraMainClass
}

// upResult is what `up` prints for one service.
type upResult struct {
	service string
	line    string
	err     error
}

// up fetches jars if needed and starts the named services in parallel,
// waiting for each to answer its protocol.
func up(l layout, services []string, keepData bool, out io.Writer) error {
	if err := fetchAll(l, out); err != nil {
		return err
	}
	java := javaBinary()
	major, full, err := javaMajorVersion(java)
	if err != nil {
		return err
	}
	// Cassandra 5.0 supports Java 11 and 17 only (it installs a
	// SecurityManager, which Java 18+ refuses); Kafka 4.x needs 17+.
	if major != 17 {
		return fmt.Errorf("%s is Java %s; Kafka 4.x and Cassandra 5.0 are run on Java 17 here (set JAVA_HOME to a JDK 17)", java, full)
	}
	if err := os.MkdirAll(l.runDir(), 0o755); err != nil {
		return err
	}
	results := make([]upResult, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Add(1)
		go func(i int, s string) {
			defer wg.Done()
			line, err := upOne(l, java, s, keepData)
			results[i] = upResult{service: s, line: line, err: err}
		}(i, s)
	}
	wg.Wait()
	var failed []string
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(out, "%s: FAILED: %v\n", r.service, r.err)
			failed = append(failed, r.service)
			continue
		}
		fmt.Fprintf(out, "%s: %s\n", r.service, r.line)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s did not become ready", strings.Join(failed, " and "))
	}
	return nil
}

// upOne starts one service unless it is already running, then waits for it.
func upOne(l layout, java, service string, keepData bool) (string, error) {
	mainClass := mainClassOf(service)
	if pid := readPid(l.pidFile(service)); processRunning(pid, mainClass) {
		ver, err := probe(service, 10*time.Second)
		if err != nil {
			return "", fmt.Errorf("already running as pid %d but not answering: %v (run `gibsey-services down %s` first)", pid, err, service)
		}
		return fmt.Sprintf("already running, version %s, pid %d, RSS %d MiB (use down + up for fresh data)", ver, pid, rssMiB(pid)), nil
	}
	ports := []int{kafkaPort, kafkaControlPort}
	if service == cassandraServiceName {
		ports = []int{cassandraCQLPort, cassandraStorePort}
	}
	for _, p := range ports {
		if !portFree(p) {
			return "", fmt.Errorf("port %d on 127.0.0.1 is taken by another process (not ours: %s has no live pid)", p, l.pidFile(service))
		}
	}
	conf := l.confDir(service)
	if !keepData {
		if err := os.RemoveAll(conf); err != nil {
			return "", fmt.Errorf("wipe %s: %w", conf, err)
		}
	}
	if err := os.MkdirAll(l.dataDir(service), 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	var (
		c       *child
		err     error
		timeout time.Duration
		logs    []string
	)
	switch service {
	case kafkaServiceName:
		timeout = kafkaReadyTimeout
		logs = []string{l.logFile(service)}
		c, err = startKafka(l, java)
	default:
		timeout = cassandraReadyTimeout
		logs = []string{filepath.Join(conf, "logs", "system.log"), l.logFile(service)}
		c, err = startCassandra(l, java)
	}
	if err != nil {
		return "", withLogs(err, logs)
	}
	ver, err := waitReady(service, c, timeout)
	if err != nil {
		// Do not leave a half-started JVM behind.
		_, _ = stopProcess(c.pid, mainClass, 5*time.Second)
		_ = os.Remove(l.pidFile(service))
		return "", withLogs(err, logs)
	}
	return fmt.Sprintf("ready in %.0f s, version %s, pid %d, RSS %d MiB, on %s",
		time.Since(start).Seconds(), ver, c.pid, rssMiB(c.pid), addrOf(service)), nil
}

func addrOf(service string) string {
	if service == kafkaServiceName {
		return kafkaAddr()
	}
	return cassandraAddr()
}

// withLogs appends the tail of each non-empty log file to err.
func withLogs(err error, logs []string) error {
	var b strings.Builder
	b.WriteString(err.Error())
	for _, p := range logs {
		if t := tailFile(p, logTailLines); t != "" {
			fmt.Fprintf(&b, "\n----- last %d lines of %s -----\n%s", logTailLines, p, t)
		}
	}
	return errors.New(b.String())
}

// startKafka writes the configs, formats the KRaft log dir and starts the
// broker+controller.
func startKafka(l layout, java string) (*child, error) {
	conf := l.confDir(kafkaServiceName)
	props := filepath.Join(conf, "server.properties")
	log4j := filepath.Join(conf, "log4j2.properties")
	if err := os.WriteFile(props, []byte(kafkaServerProperties(l.dataDir(kafkaServiceName))), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(log4j, []byte(kafkaLog4j2Properties()), 0o644); err != nil {
		return nil, err
	}
	lib := l.libDir(kafkaServiceName)
	format := exec.Command(java, kafkaFormatArgs(lib, log4j, props)...)
	format.Dir = conf
	if out, err := format.CombinedOutput(); err != nil {
		_ = os.WriteFile(l.logFile(kafkaServiceName), out, 0o644)
		return nil, fmt.Errorf("format KRaft storage %s: %v", l.dataDir(kafkaServiceName), err)
	}
	return startDetached(java, kafkaJVMArgs(lib, log4j, props), conf, l.logFile(kafkaServiceName), l.pidFile(kafkaServiceName))
}

// startCassandra writes the configs and starts the node.
func startCassandra(l layout, java string) (*child, error) {
	conf := l.confDir(cassandraServiceName)
	logDir := filepath.Join(conf, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	yaml := filepath.Join(conf, "cassandra.yaml")
	logback := filepath.Join(conf, "logback.xml")
	if err := os.WriteFile(yaml, []byte(cassandraYAML()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(logback, []byte(cassandraLogback()), 0o644); err != nil {
		return nil, err
	}
	lib := l.libDir(cassandraServiceName)
	jamm, _ := filepath.Glob(filepath.Join(lib, "jamm-*.jar"))
	if len(jamm) != 1 {
		return nil, fmt.Errorf("want exactly one jamm-*.jar in %s (the -javaagent), found %d", lib, len(jamm))
	}
	// JNA unpacks its native library to a temp dir; use one we know is ours
	// and writable rather than /tmp (which may be noexec on some machines).
	tmp := filepath.Join(conf, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	args := cassandraJVMArgs(lib, jamm[0], yaml, logback, l.dataDir(cassandraServiceName), logDir)
	args = append([]string{"-Djna.tmpdir=" + tmp, "-Djava.io.tmpdir=" + tmp}, args...)
	return startDetached(java, args, conf, l.logFile(cassandraServiceName), l.pidFile(cassandraServiceName))
}

// waitReady polls the service until it answers, the child exits, or the
// timeout passes.
func waitReady(service string, c *child, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		select {
		case <-c.exited:
			return "", fmt.Errorf("the JVM (pid %d) exited before %s was ready: %v", c.pid, service, c.err)
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", fmt.Errorf("%s not ready after %s (pid %d still running); last probe error: %v", service, timeout, c.pid, lastErr)
		}
		ver, err := probe(service, min(5*time.Second, left))
		if err == nil {
			return ver, nil
		}
		lastErr = err
		select {
		case <-c.exited:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// probe asks the service once whether it answers, returning its version.
func probe(service string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if service == kafkaServiceName {
		return probeKafka(ctx)
	}
	return probeCassandra(ctx, timeout)
}

// probeKafka sends ApiVersions and checks the broker answers without error.
// The broker only serves requests once it has caught up with the metadata
// log and is unfenced, so an answer means usable. Kafka does not report its
// release over the wire, so the version printed is the jar's plus the
// finalized metadata.version feature level.
func probeKafka(ctx context.Context) (string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr()), kgo.DialTimeout(2*time.Second),
		kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName = "gibsey-services"
	req.ClientSoftwareVersion = "1"
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return "", fmt.Errorf("ApiVersions: %w", err)
	}
	if resp.ErrorCode != 0 {
		return "", fmt.Errorf("ApiVersions: error code %d", resp.ErrorCode)
	}
	// The broker answers ApiVersions before it can serve metadata; also
	// require node 1 in a Metadata answer so topic creation works next.
	md := kmsg.NewPtrMetadataRequest()
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		return "", fmt.Errorf("Metadata: %w", err)
	}
	if len(mresp.Brokers) == 0 {
		return "", errors.New("Metadata: no broker registered yet")
	}
	ver := kafkaVersion
	for _, f := range resp.FinalizedFeatures {
		if f.Name == "metadata.version" {
			ver += fmt.Sprintf(" (metadata.version level %d)", f.MaxVersionLevel)
		}
	}
	return ver, nil
}

// probeCassandra opens a session and reads system.local's release_version.
func probeCassandra(ctx context.Context, timeout time.Duration) (string, error) {
	cluster := gocql.NewCluster(cassandraAddr())
	cluster.ConnectTimeout = min(2*time.Second, timeout)
	cluster.Timeout = timeout
	cluster.NumConns = 1
	cluster.DisableInitialHostLookup = true
	cluster.Logger = gocql.NewLogger(gocql.LogLevelNone)
	s, err := cluster.CreateSession()
	if err != nil {
		return "", fmt.Errorf("CQL connect: %w", err)
	}
	defer s.Close()
	var ver string
	if err := s.Query("SELECT release_version FROM system.local").WithContext(ctx).Scan(&ver); err != nil {
		return "", fmt.Errorf("SELECT release_version FROM system.local: %w", err)
	}
	return ver, nil
}

// down stops the named services: SIGTERM, up to 20 s, then SIGKILL.
// Stopping a service that is not running is not an error.
func down(l layout, services []string, out io.Writer) error {
	var wg sync.WaitGroup
	lines := make([]string, len(services))
	errs := make([]error, len(services))
	for i, s := range services {
		wg.Add(1)
		go func(i int, s string) {
			defer wg.Done()
			pid := readPid(l.pidFile(s))
			if !processRunning(pid, mainClassOf(s)) {
				_ = os.Remove(l.pidFile(s))
				lines[i] = s + ": not running"
				return
			}
			start := time.Now()
			killed, err := stopProcess(pid, mainClassOf(s), stopGrace)
			if err != nil {
				lines[i] = fmt.Sprintf("%s: stop pid %d: %v", s, pid, err)
				errs[i] = fmt.Errorf("%s: %w", s, err)
				return
			}
			_ = os.Remove(l.pidFile(s))
			how := "SIGTERM"
			if killed {
				how = fmt.Sprintf("SIGKILL after %s", stopGrace)
			}
			lines[i] = fmt.Sprintf("%s: stopped pid %d in %.1f s (%s)", s, pid, time.Since(start).Seconds(), how)
		}(i, s)
	}
	wg.Wait()
	for _, line := range lines {
		fmt.Fprintln(out, line)
	}
	return errors.Join(errs...)
}

// status prints whether each service runs and answers; it fails when one
// of them does not, so scripts can use `status || up`.
func status(l layout, services []string, out io.Writer) error {
	var bad []string
	for _, s := range services {
		pid := readPid(l.pidFile(s))
		if !processRunning(pid, mainClassOf(s)) {
			fmt.Fprintf(out, "%s: not running\n", s)
			bad = append(bad, s)
			continue
		}
		ver, err := probe(s, 5*time.Second)
		if err != nil {
			fmt.Fprintf(out, "%s: running as pid %d (RSS %d MiB) but not answering on %s: %v\n", s, pid, rssMiB(pid), addrOf(s), err)
			bad = append(bad, s)
			continue
		}
		fmt.Fprintf(out, "%s: ready, version %s, pid %d, RSS %d MiB, on %s\n", s, ver, pid, rssMiB(pid), addrOf(s))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s not ready", strings.Join(bad, " and "))
	}
	return nil
}
