// Command gibsey-services runs a single-node Apache Kafka 4.x (KRaft) and a
// single-node Apache Cassandra 5.0 on 127.0.0.1 for tests, from their Maven
// Central jars, on the machine's default Java 17 — no Docker, no tarballs.
//
// Usage:
//
//	gibsey-services fetch                         copy the jars (once; skipped when complete)
//	gibsey-services up [kafka] [cassandra] [--keep-data]
//	gibsey-services down [kafka] [cassandra]
//	gibsey-services status
//
// Every subcommand accepts --dir DIR (default .build/services, relative to
// the working directory). Jars go to DIR/lib-kafka and DIR/lib-cassandra;
// configs, data, pid files and logs go to DIR/run. See docs/services.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const usage = `usage:
  gibsey-services fetch  [--dir DIR]
  gibsey-services up     [kafka] [cassandra] [--keep-data] [--dir DIR]
  gibsey-services down   [kafka] [cassandra] [--dir DIR]
  gibsey-services status [kafka] [cassandra] [--dir DIR]

Without service names a command acts on both services.
DIR defaults to .build/services (relative to the working directory).
`

// options are the parsed command-line arguments of one invocation.
type options struct {
	command  string
	dir      string
	keepData bool
	services []string
}

// parseArgs parses "<command> [service...] [--keep-data] [--dir DIR]"; flags
// may appear anywhere after the command.
func parseArgs(args []string) (options, error) {
	opts := options{dir: filepath.Join(".build", "services")}
	if len(args) == 0 {
		return opts, errors.New("missing command")
	}
	opts.command = args[0]
	switch opts.command {
	case "fetch", "up", "down", "status":
	case "help", "-h", "--help":
		return opts, nil
	default:
		return opts, fmt.Errorf("unknown command %q", opts.command)
	}
	seen := map[string]bool{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--keep-data" || a == "-keep-data":
			if opts.command != "up" {
				return opts, fmt.Errorf("--keep-data only applies to up")
			}
			opts.keepData = true
		case a == "--dir" || a == "-dir":
			if i+1 >= len(args) || args[i+1] == "" {
				return opts, errors.New("--dir needs a directory")
			}
			i++
			opts.dir = args[i]
		case strings.HasPrefix(a, "--dir=") || strings.HasPrefix(a, "-dir="):
			opts.dir = a[strings.Index(a, "=")+1:]
			if opts.dir == "" {
				return opts, errors.New("--dir needs a directory")
			}
		case a == kafkaServiceName || a == cassandraServiceName:
			if opts.command == "fetch" {
				return opts, fmt.Errorf("fetch takes no service names (it always fetches both)")
			}
			if !seen[a] {
				seen[a] = true
				opts.services = append(opts.services, a)
			}
		case strings.HasPrefix(a, "-"):
			return opts, fmt.Errorf("unknown flag %q", a)
		default:
			return opts, fmt.Errorf("unknown service %q (want %s or %s)", a, kafkaServiceName, cassandraServiceName)
		}
	}
	if len(opts.services) == 0 {
		opts.services = []string{kafkaServiceName, cassandraServiceName}
	}
	return opts, nil
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gibsey-services: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	if opts.command == "help" || opts.command == "-h" || opts.command == "--help" {
		fmt.Print(usage)
		return
	}
	l, err := newLayout(opts.dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gibsey-services: %v\n", err)
		os.Exit(2)
	}
	switch opts.command {
	case "fetch":
		err = fetchAll(l, os.Stdout)
	case "up":
		err = up(l, opts.services, opts.keepData, os.Stdout)
	case "down":
		err = down(l, opts.services, os.Stdout)
	case "status":
		err = status(l, opts.services, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gibsey-services %s: %v\n", opts.command, err)
		os.Exit(1)
	}
}
