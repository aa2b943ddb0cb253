package main

import (
	"encoding/base64"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parseProperties reads key=value lines, failing on duplicates.
func parseProperties(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("line %d %q is not key=value", i+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, dup := m[k]; dup {
			t.Fatalf("key %q appears twice", k)
		}
		m[k] = v
	}
	return m
}

func TestKafkaServerProperties(t *testing.T) {
	props := parseProperties(t, kafkaServerProperties("/abs/run/kafka/data"))
	want := map[string]string{
		"process.roles":                            "broker,controller",
		"node.id":                                  "1",
		"controller.quorum.voters":                 "1@127.0.0.1:9093",
		"listeners":                                "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
		"advertised.listeners":                     "PLAINTEXT://127.0.0.1:9092",
		"controller.listener.names":                "CONTROLLER",
		"inter.broker.listener.name":               "PLAINTEXT",
		"log.dirs":                                 "/abs/run/kafka/data",
		"offsets.topic.replication.factor":         "1",
		"transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr":            "1",
		"default.replication.factor":               "1",
		"group.initial.rebalance.delay.ms":         "0",
	}
	for k, v := range want {
		if got, ok := props[k]; !ok || got != v {
			t.Errorf("server.properties %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	// KRaft validation: the node id must be among the voters and every
	// listener name must have a security protocol.
	if !strings.HasPrefix(props["controller.quorum.voters"], props["node.id"]+"@") {
		t.Errorf("node.id %s is not in controller.quorum.voters %s", props["node.id"], props["controller.quorum.voters"])
	}
	protos := props["listener.security.protocol.map"]
	for _, l := range strings.Split(props["listeners"], ",") {
		name, _, _ := strings.Cut(l, "://")
		if !strings.Contains(protos, name+":") {
			t.Errorf("listener %s has no entry in listener.security.protocol.map %q", name, protos)
		}
	}
	if _, ok := props["controller.quorum.bootstrap.servers"]; ok {
		t.Error("controller.quorum.bootstrap.servers set: the formatter would then need --standalone")
	}
}

func TestKafkaLog4j2IsPropertiesWithRootAppender(t *testing.T) {
	props := parseProperties(t, kafkaLog4j2Properties())
	ref := props["rootLogger.appenderRef.out.ref"]
	if ref == "" || props["appender.out.name"] != ref {
		t.Fatalf("root logger refers to appender %q, but appender.out.name is %q", ref, props["appender.out.name"])
	}
	if props["logger.raft.name"] != "kafka.server.KafkaRaftServer" || props["logger.raft.level"] != "INFO" {
		t.Error(`the "Kafka Server started" logger (kafka.server.KafkaRaftServer) is not at INFO`)
	}
}

func TestKafkaClusterIDIsA16ByteUUID(t *testing.T) {
	b, err := base64.RawURLEncoding.DecodeString(kafkaClusterID)
	if err != nil || len(b) != 16 {
		t.Fatalf("cluster id %q decodes to %d bytes (err %v); Kafka wants 16 bytes in unpadded base64url", kafkaClusterID, len(b), err)
	}
}

// yamlTopLevel returns the top-level keys of a simple block YAML file.
func yamlTopLevel(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "\t") {
			t.Fatalf("line %d has a tab; YAML forbids tabs for indentation", i+1)
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, " ") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("line %d %q is not key: value", i+1, line)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("key %q appears twice (Cassandra refuses duplicate/aliased keys)", k)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

func TestCassandraYAML(t *testing.T) {
	y := cassandraYAML()
	keys := yamlTopLevel(t, y)
	// Directives Cassandra refuses to start without.
	for _, k := range []string{"cluster_name", "partitioner", "endpoint_snitch", "seed_provider", "commitlog_sync"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("cassandra.yaml lacks required directive %s", k)
		}
	}
	want := map[string]string{
		"listen_address":         "127.0.0.1",
		"rpc_address":            "127.0.0.1",
		"native_transport_port":  "9042",
		"storage_port":           "7000",
		"start_native_transport": "true",
		"auto_snapshot":          "false",
		"num_tokens":             "1",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("cassandra.yaml %s = %q, want %q", k, keys[k], v)
		}
	}
	for k := range keys {
		// 5.0 still accepts the pre-4.1 names (e.g. *_in_ms), but having
		// an old and a new name of one setting is fatal; use new ones only.
		for _, old := range []string{"_in_ms", "_in_kb", "_in_mb", "_in_mb_per_sec"} {
			if strings.HasSuffix(k, old) {
				t.Errorf("cassandra.yaml uses pre-4.1 key %s", k)
			}
		}
		// Directories come from -Dcassandra.storagedir.
		if strings.HasSuffix(k, "_directory") || strings.HasSuffix(k, "_directories") {
			t.Errorf("cassandra.yaml sets %s; directories must come from -Dcassandra.storagedir", k)
		}
	}
	// Cassandra 5.0.9's vector index accepts at most availableProcessors+1
	// concurrent writers per memtable graph (3 on 2 cores).
	if cw := keys["concurrent_writes"]; cw != "2" {
		t.Errorf("concurrent_writes = %q, want 2 (more breaks concurrent vector writes on small machines)", cw)
	}
	if !strings.Contains(y, `seeds: "127.0.0.1:7000"`) {
		t.Error("seed list is not 127.0.0.1:7000 (a node that is its own seed skips bootstrap)")
	}
}

func TestCassandraJVMArgs(t *testing.T) {
	args := cassandraJVMArgs("/lib", "/lib/jamm-0.4.0.jar", "/conf/cassandra.yaml", "/conf/logback.xml", "/data", "/logs")
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-javaagent:/lib/jamm-0.4.0.jar",
		"-Dcassandra.config=file:///conf/cassandra.yaml",
		"-Dcassandra-foreground=yes",
		"-Dcassandra.storagedir=/data",
		"-Dcassandra.skip_wait_for_gossip_to_settle=0",
		"-Dcassandra.unsafesystem=true",
		"--add-opens java.base/java.io=ALL-UNNAMED",
		"-Xmx" + cassandraHeap,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("cassandra JVM args lack %q", want)
		}
	}
	if args[len(args)-1] != cassandraMainClass {
		t.Errorf("last argument is %q, want the main class %s", args[len(args)-1], cassandraMainClass)
	}
	// --add-opens / --add-exports take their value as the next argument.
	for i, a := range args {
		if (a == "--add-opens" || a == "--add-exports") && (i+1 >= len(args) || !strings.HasSuffix(args[i+1], "=ALL-UNNAMED")) {
			t.Errorf("%s at %d is not followed by MODULE/PACKAGE=ALL-UNNAMED", a, i)
		}
	}
}

func TestKafkaArgs(t *testing.T) {
	run := kafkaJVMArgs("/lib", "/c/log4j2.properties", "/c/server.properties")
	if got := run[len(run)-2:]; got[0] != kafkaMainClass || got[1] != "/c/server.properties" {
		t.Errorf("broker command ends with %v, want [%s /c/server.properties]", got, kafkaMainClass)
	}
	format := strings.Join(kafkaFormatArgs("/lib", "/c/log4j2.properties", "/c/server.properties"), " ")
	if !strings.Contains(format, kafkaStorageTool+" format -t "+kafkaClusterID+" -c /c/server.properties --ignore-formatted") {
		t.Errorf("format command is %q", format)
	}
}

type pomXML struct {
	Packaging    string `xml:"packaging"`
	Dependencies []struct {
		GroupID    string `xml:"groupId"`
		ArtifactID string `xml:"artifactId"`
		Version    string `xml:"version"`
	} `xml:"dependencies>dependency"`
}

func TestPOMsParseAndPinVersions(t *testing.T) {
	for _, c := range []struct {
		service string
		want    []string
	}{
		{kafkaServiceName, []string{"org.apache.kafka:kafka_2.13:4.1.2", "org.apache.logging.log4j:log4j-slf4j-impl:" + log4jVersion, "org.apache.logging.log4j:log4j-core:" + log4jVersion}},
		{cassandraServiceName, []string{"org.apache.cassandra:cassandra-all:" + cassandraVersion}},
	} {
		var p pomXML
		if err := xml.Unmarshal([]byte(pomFor(c.service)), &p); err != nil {
			t.Fatalf("%s pom does not parse: %v", c.service, err)
		}
		if p.Packaging != "pom" {
			t.Errorf("%s pom packaging = %q, want pom", c.service, p.Packaging)
		}
		have := map[string]bool{}
		for _, d := range p.Dependencies {
			have[d.GroupID+":"+d.ArtifactID+":"+d.Version] = true
		}
		for _, w := range c.want {
			if !have[w] {
				t.Errorf("%s pom lacks %s (has %v)", c.service, w, have)
			}
		}
	}
}

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"up", "cassandra", "--keep-data", "--dir", "/x"})
	if err != nil || o.command != "up" || !o.keepData || o.dir != "/x" || len(o.services) != 1 || o.services[0] != "cassandra" {
		t.Errorf("parseArgs(up cassandra --keep-data --dir /x) = %+v, %v", o, err)
	}
	o, err = parseArgs([]string{"down"})
	if err != nil || len(o.services) != 2 || o.dir != filepath.Join(".build", "services") {
		t.Errorf("parseArgs(down) = %+v, %v; want both services and the default dir", o, err)
	}
	for _, bad := range [][]string{{}, {"start"}, {"up", "zookeeper"}, {"down", "--keep-data"}, {"up", "--dir"}, {"up", "--bogus"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}

func TestParseJavaVersion(t *testing.T) {
	for in, want := range map[string]int{
		`openjdk version "17.0.15" 2025-04-15`: 17,
		`openjdk version "25" 2025-09-16`:      25,
		`java version "1.8.0_392"`:             8,
		"openjdk version \"11.0.2\"\nOpenJDK…": 11,
	} {
		got, _, err := parseJavaVersion(in)
		if err != nil || got != want {
			t.Errorf("parseJavaVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, _, err := parseJavaVersion("command not found"); err == nil {
		t.Error("parseJavaVersion accepted text without a version")
	}
}

func TestLastLinesAndFileURL(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("lastLines = %q, want %q", got, "b\nc")
	}
	if got := fileURL("/a b/c.yaml"); got != "file:///a%20b/c.yaml" {
		t.Errorf("fileURL = %q", got)
	}
}

// TestStopProcessEscalatesToSIGKILL starts a shell that ignores SIGTERM and
// checks that stopProcess kills it after the grace period and that a
// zombie left behind is not reported as running.
func TestStopProcessEscalatesToSIGKILL(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	marker := "gibsey-services-test-marker"
	ready := filepath.Join(dir, "trap-installed")
	c, err := startDetached("sh", []string{"-c", `trap "" TERM; : > "$1"; while :; do sleep 0.1; done`, marker, ready},
		dir, filepath.Join(dir, "x.log"), filepath.Join(dir, "x.pid"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(c.pid, syscall.SIGKILL) })
	if readPid(filepath.Join(dir, "x.pid")) != c.pid {
		t.Fatalf("pid file does not hold pid %d", c.pid)
	}
	// Wait until the shell has installed its trap, else SIGTERM would
	// simply end it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("test shell never got ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !processRunning(c.pid, marker) {
		t.Fatal("started process not seen as running")
	}
	if processRunning(c.pid, "some.other.Main") {
		t.Error("processRunning matched a main class the process does not have")
	}
	killed, err := stopProcess(c.pid, marker, 500*time.Millisecond)
	if err != nil || !killed {
		t.Fatalf("stopProcess = killed %v, err %v; want SIGKILL used", killed, err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("child not reaped after SIGKILL")
	}
	// Stopping again is a no-op.
	if killed, err := stopProcess(c.pid, marker, time.Second); err != nil || killed {
		t.Errorf("second stopProcess = %v, %v; want no-op", killed, err)
	}
}

// TestFetchedLibsHaveOneMatchingSLF4JBinding checks the jars that fetch
// copied (skipped before the first fetch): exactly one SLF4J binding per
// service, and for Kafka one that matches the slf4j-api major version.
func TestFetchedLibsHaveOneMatchingSLF4JBinding(t *testing.T) {
	root := repoRoot(t)
	l, _ := newLayout(filepath.Join(root, ".build", "services"))
	if _, err := os.Stat(l.marker(kafkaServiceName)); err != nil {
		t.Skip("jars not fetched yet; run gibsey-services fetch")
	}
	glob := func(svc, pat string) []string {
		m, _ := filepath.Glob(filepath.Join(l.libDir(svc), pat))
		return m
	}
	api := glob(kafkaServiceName, "slf4j-api-*.jar")
	if len(api) != 1 {
		t.Fatalf("kafka lib has %d slf4j-api jars, want 1", len(api))
	}
	v1 := strings.Contains(filepath.Base(api[0]), "slf4j-api-1.")
	impl, impl2 := glob(kafkaServiceName, "log4j-slf4j-impl-*.jar"), glob(kafkaServiceName, "log4j-slf4j2-impl-*.jar")
	if v1 && (len(impl) != 1 || len(impl2) != 0) || !v1 && (len(impl2) != 1 || len(impl) != 0) {
		t.Errorf("kafka lib: %s with bindings %v %v; want exactly the matching one", filepath.Base(api[0]), impl, impl2)
	}
	if lb := glob(kafkaServiceName, "logback-classic-*.jar"); len(lb) != 0 {
		t.Errorf("kafka lib has a second SLF4J binding %v", lb)
	}
	if lb := glob(cassandraServiceName, "logback-classic-*.jar"); len(lb) != 1 {
		t.Errorf("cassandra lib has %d logback-classic jars, want 1", len(lb))
	}
	if l4 := glob(cassandraServiceName, "log4j-slf4j*.jar"); len(l4) != 0 {
		t.Errorf("cassandra lib has a second SLF4J binding %v", l4)
	}
	if j := glob(cassandraServiceName, "jamm-*.jar"); len(j) != 1 {
		t.Errorf("cassandra lib has %d jamm jars, want 1", len(j))
	}
}

// repoRoot walks up from the test's directory to the folder holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
