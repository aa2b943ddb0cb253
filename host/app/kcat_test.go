package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
)

// TestKcatRoundTrip: a third-party Kafka client agrees with the host. kcat produces a
// hand-written gibsey.ui.symbol envelope into the real broker; the page appears in the
// session's events_log (in Cassandra) and on the SSE stream; kcat consuming
// gibsey.generate.page.done sees the page with its x-* headers.
func TestKcatRoundTrip(t *testing.T) {
	be := bothServices(t)
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (Debian package kcat; make deps-test installs it): skipping the third-party client test")
	}
	ta := startApp(t, be, appOpts{})
	broker := strings.Join(be.kafka, ",")
	sid, cue := event.NewID(), event.NewID()
	c := ta.characterByID(t, "princhetta")
	stream := ta.openSSE(t, sid, "")
	since := time.Now().Add(-5 * time.Second).UnixMilli()

	envelope := fmt.Sprintf(`{"event_id":%q,"type":"ui.symbol","ts":%q,"session_id":%q,"actor":"user",`+
		`"payload":{"character_id":%q,"section_id":%d,"symbol_id":%q,"orientation":"W"},"provenance":{"client":"kcat","version":"1.7"}}`,
		cue, time.Now().UTC().Format(time.RFC3339Nano), sid, c.ID, c.Section, c.SymbolID(c.Section))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	produce := exec.CommandContext(ctx, kcat, "-b", broker, "-P", "-t", event.TopicUISymbol, "-k", sid,
		// murmur2 on the key, like the Java client and the host: a session stays on one partition.
		"-X", "topic.partitioner=murmur2_random",
		"-H", event.HeaderType+"="+event.TypeSymbol, "-H", event.HeaderCharacter+"="+c.ID,
		"-H", event.HeaderSection+"="+strconv.Itoa(c.Section), "-H", event.HeaderSymbol+"="+c.SymbolID(c.Section),
		"-H", event.HeaderOrientation+"=W")
	produce.Stdin = strings.NewReader(envelope + "\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}

	evs, stored, pd := ta.waitPage(t, sid, cue)
	checkOrder(t, evs, cue)
	ta.checkPageFromCorpus(t, pd, c)
	stream.waitFor(t, "the page of kcat's cue", pageOf(cue))

	// kcat reads the page back, with its headers.
	consume := exec.CommandContext(ctx, kcat, "-b", broker, "-C", "-t", event.TopicPageDone, "-o", "s@"+strconv.FormatInt(since, 10), "-e", "-q", "-J")
	var stderr bytes.Buffer
	consume.Stderr = &stderr
	out, err := consume.Output()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, stderr.String())
	}
	type kcatMsg struct {
		Topic     string   `json:"topic"`
		Partition int32    `json:"partition"`
		Offset    int64    `json:"offset"`
		Headers   []string `json:"headers"`
		Key       string   `json:"key"`
		Payload   string   `json:"payload"`
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m kcatMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		env, err := event.Decode([]byte(m.Payload))
		if err != nil || env.EventID != stored.EventID {
			continue
		}
		seen++
		h := map[string]string{}
		for i := 0; i+1 < len(m.Headers); i += 2 {
			h[m.Headers[i]] = m.Headers[i+1]
		}
		want := map[string]string{
			event.HeaderType: event.TypePageDone, event.HeaderCharacter: c.ID, event.HeaderSection: strconv.Itoa(c.Section),
			event.HeaderOrientation: "W", event.HeaderVoice: "page",
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("kcat sees page.done %s/%d@%d with header %s=%q, want %q (headers %v)", m.Topic, m.Partition, m.Offset, k, h[k], v, m.Headers)
			}
		}
		if m.Key != sid {
			t.Errorf("kcat sees the page keyed %q, want the session %s", m.Key, sid)
		}
		var got event.PageDone
		if err := json.Unmarshal(env.Payload, &got); err != nil || got.Text != pd.Text || got.PageID != pd.PageID {
			t.Errorf("kcat's page.done differs from the stored page: %v", err)
		}
	}
	if seen == 0 {
		t.Fatalf("kcat -C -t %s found no record of page.done %s (read %d bytes)", event.TopicPageDone, stored.EventID, len(out))
	}
	t.Logf("kcat saw the page %s (%d record(s)) with its headers", pd.PageID, seen)
}
