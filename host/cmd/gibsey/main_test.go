package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLineErrorsAreClear(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no command", nil, nil, 2, "usage"},
		{"unknown command", nil, []string{"dance"}, 2, `unknown command "dance"`},
		{"bad env duration", map[string]string{"GIBSEY_DEBOUNCE": "abc"}, []string{"serve"}, 2, `GIBSEY_DEBOUNCE: invalid value "abc"`},
		{"bad env bool", map[string]string{"GIBSEY_WATCH_PLUGINS": "maybe"}, []string{"serve"}, 2, "GIBSEY_WATCH_PLUGINS"},
		{"bad snapshot every", nil, []string{"serve", "--snapshot-every", "0"}, 2, "--snapshot-every"},
		{"bad sasl", nil, []string{"serve", "--kafka", "127.0.0.1:9092", "--kafka-sasl-mechanism", "MD5"}, 2, "MD5"},
		{"stray argument", nil, []string{"serve", "extra"}, 2, "unexpected arguments"},
		{"migrate without cassandra", nil, []string{"migrate"}, 2, "--cassandra host:port is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			if code != c.code || !strings.Contains(out.String()+errb.String(), c.want) {
				t.Fatalf("gibsey %v: exit %d, output %q; want exit %d mentioning %q", c.args, code, out.String()+errb.String(), c.code, c.want)
			}
		})
	}
}

func TestFlagsFromEnvironmentAndCommandLine(t *testing.T) {
	t.Setenv("GIBSEY_KAFKA", "10.0.0.1:9092,10.0.0.2:9092")
	t.Setenv("GIBSEY_VOICES", "analyst,commentary")
	t.Setenv("GIBSEY_ADDR", "127.0.0.1:9999")
	var errb bytes.Buffer
	f := newFlags("gibsey serve", &errb)
	if err := f.parse([]string{"--addr", "127.0.0.1:7777", "--group-prefix", "blue"}); err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	if len(c.Kafka) != 2 || c.Kafka[1] != "10.0.0.2:9092" || len(c.Voices) != 2 || c.Addr != "127.0.0.1:7777" || c.GroupPrefix != "blue" || len(c.Cassandra) != 0 {
		t.Fatalf("config %+v", c)
	}
}
