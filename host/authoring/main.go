package authoring

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

const usage = `usage: gibsey actor COMMAND [arguments]

Write a voice, try it, and swap it into a running reader.

  new NAME --lang go|as [--dir DIR]      scaffold a voice (default DIR: ./NAME)
  build [DIR]                            build the voice in DIR (default .) to DIR/NAME.wasm
  run FILE.wasm --event FILE.json [--manifest F] [--corpus DIR] [--json]
                                         run the actor offline against one event; print the page
  upload FILE.wasm [--manifest F] --host URL [--token T]
                                         hot-swap it into a running host (POST /admin/actors)
  rollback NAME --host URL [--token T]   restore the previous version of an actor

The token defaults to $GIBSEY_ADMIN_TOKEN. Sample events are in examples/events/.
`

// Main runs `gibsey actor ARGS...` (args are those after "actor") and returns the exit code:
// 0 on success, 1 when the command failed, 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "new":
		err = cmdNew(rest, stdout, stderr)
	case "build":
		err = cmdBuild(ctx, rest, stdout, stderr)
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "upload":
		err = cmdUpload(ctx, rest, stdout, stderr)
	case "rollback":
		err = cmdRollback(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "gibsey actor: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gibsey actor %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "gibsey actor %s: %v\n", cmd, err)
		return 1
	}
}

type usageError struct{ error }

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("new", flag.ContinueOnError)
	lang := fs.String("lang", "go", "the voice's language: go or as (AssemblyScript)")
	dir := fs.String("dir", "", "the folder to create (default ./NAME)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one NAME: gibsey actor new NAME --lang go|as [--dir DIR]")}
	}
	files, err := Scaffold(NewOptions{Name: pos[0], Lang: *lang, Dir: *dir})
	if err != nil {
		return err
	}
	d := filepath.Dir(files[0])
	fmt.Fprintf(stdout, "created %s voice %q in %s:\n", *lang, pos[0], d)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", filepath.Base(f))
	}
	fmt.Fprintf(stdout, "next:\n  bin/gibsey actor build %s\n  bin/gibsey actor run %s --event examples/events/page-request.json\n",
		d, filepath.Join(d, pos[0]+".wasm"))
	return nil
}

func cmdBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	dir := "."
	switch len(pos) {
	case 0:
	case 1:
		dir = pos[0]
	default:
		return usageError{errors.New("want at most one DIR")}
	}
	out, err := Build(ctx, dir)
	if err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s (%d bytes)\n", out, st.Size())
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o RunOptions
	fs.StringVar(&o.Event, "event", "", "the event file (JSON): an envelope or a page request")
	fs.StringVar(&o.Manifest, "manifest", "", "the manifest (default: NAME.manifest.json beside the .wasm)")
	fs.StringVar(&o.Corpus, "corpus", "", "the corpus folder (default: examples/corpus of the checkout)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one FILE.wasm: gibsey actor run FILE.wasm --event FILE.json")}
	}
	o.Wasm = pos[0]
	res, err := Run(ctx, o)
	if res != nil {
		for _, l := range res.Logs {
			fmt.Fprintf(stderr, "log: %s\n", l)
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	PrintResult(stdout, res)
	return nil
}

func adminFlags(fs *flag.FlagSet) *AdminClient {
	a := &AdminClient{}
	fs.StringVar(&a.Host, "host", "", "the running host's base URL, e.g. http://localhost:8080")
	fs.StringVar(&a.Token, "token", "", "the admin token (default $"+TokenEnv+")")
	return a
}

func withEnvToken(a *AdminClient) {
	if a.Token == "" {
		a.Token = os.Getenv(TokenEnv)
	}
}

func cmdUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	a := adminFlags(fs)
	manifest := fs.String("manifest", "", "the manifest (default: NAME.manifest.json beside the .wasm)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one FILE.wasm: gibsey actor upload FILE.wasm --host URL --token T")}
	}
	withEnvToken(a)
	out, err := a.Upload(ctx, pos[0], *manifest)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "uploaded %s: %s\n", pos[0], strings.TrimSpace(string(out)))
	return nil
}

func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	a := adminFlags(fs)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one actor NAME: gibsey actor rollback NAME --host URL --token T")}
	}
	withEnvToken(a)
	out, err := a.Rollback(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rolled back %s: %s\n", pos[0], strings.TrimSpace(string(out)))
	return nil
}
