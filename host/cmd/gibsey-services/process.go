package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// javaBinary is the java launcher: $JAVA_HOME/bin/java when JAVA_HOME is set,
// else java on PATH (the machine's default, OpenJDK 17).
func javaBinary() string {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		p := h + "/bin/java"
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "java"
}

// javaMajorVersion runs `java -version` and returns the major version.
func javaMajorVersion(java string) (int, string, error) {
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return 0, "", fmt.Errorf("%s -version: %v: %s", java, err, strings.TrimSpace(string(out)))
	}
	return parseJavaVersion(string(out))
}

// parseJavaVersion extracts the major version from `java -version` output
// (`openjdk version "17.0.15" ...`, or `"1.8.0_392"` for Java 8).
func parseJavaVersion(out string) (int, string, error) {
	i := strings.Index(out, `version "`)
	if i < 0 {
		return 0, "", fmt.Errorf("cannot read the Java version from %q", firstLine(out))
	}
	rest := out[i+len(`version "`):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return 0, "", fmt.Errorf("cannot read the Java version from %q", firstLine(out))
	}
	full := rest[:j]
	parts := strings.FieldsFunc(full, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	if len(parts) == 0 {
		return 0, full, fmt.Errorf("cannot read the Java version from %q", full)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, full, fmt.Errorf("cannot read the Java version from %q", full)
	}
	if major == 1 && len(parts) > 1 {
		major, _ = strconv.Atoi(parts[1])
	}
	return major, full, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// child is a JVM started by this invocation; exited is closed when it ends.
type child struct {
	pid    int
	exited chan struct{}
	err    error // the Wait result, valid after exited is closed
}

// startDetached starts java with args in its own session (so a terminal's
// Ctrl-C or the caller's exit does not reach it), stdout+stderr appended to
// logPath, and writes pidPath. The caller's process keeps waiting on the
// child until it returns; once the caller exits, the JVM is re-parented.
func startDetached(java string, args []string, dir, logPath, pidPath string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdin = devnull
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", java, err)
	}
	c := &child{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(c.pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("write pid file %s: %w", pidPath, err)
	}
	return c, nil
}

// readPid returns the pid recorded in a pid file, or 0 when there is none.
func readPid(pidPath string) int {
	b, err := os.ReadFile(pidPath)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// processRunning reports whether pid is a live (not zombie) process whose
// command line contains mainClass — which guards against a recycled pid.
func processRunning(pid int, mainClass string) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the ")" closing the command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if st := stat[i+2]; st == 'Z' || st == 'X' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if string(arg) == mainClass {
			return true
		}
	}
	return false
}

// rssMiB returns a process's resident set size in MiB (0 when unknown).
func rssMiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				return kb / 1024
			}
		}
	}
	return 0
}

// stopProcess sends SIGTERM, waits up to grace for the process to end, then
// sends SIGKILL and waits a little more. It returns whether SIGKILL was used.
func stopProcess(pid int, mainClass string, grace time.Duration) (killed bool, err error) {
	if !processRunning(pid, mainClass) {
		return false, nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("SIGTERM pid %d: %w", pid, err)
	}
	if waitGone(pid, mainClass, grace) {
		return false, nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, fmt.Errorf("SIGKILL pid %d: %w", pid, err)
	}
	if !waitGone(pid, mainClass, 10*time.Second) {
		return true, fmt.Errorf("pid %d still alive 10 s after SIGKILL", pid)
	}
	return true, nil
}

func waitGone(pid int, mainClass string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !processRunning(pid, mainClass) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// portFree reports whether a TCP port on 127.0.0.1 can be bound right now.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailFile returns the last n lines of a file (read from its last 256 KiB).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, 0)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(f)
	return lastLines(buf.String(), n)
}
