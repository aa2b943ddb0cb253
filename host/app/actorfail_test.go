package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/internal/wasmbuild"
)

// TestFailingActorIsRetriedThenDeadLettered: a voice whose actor loops, panics or answers
// invalid UTF-8 fails each request a bounded number of times, then the request goes to
// gibsey.dlq with the reason; meanwhile readers' pages keep coming.
func TestFailingActorIsRetriedThenDeadLettered(t *testing.T) {
	ta := startApp(t, embeddedBackend, appOpts{Quiet: true})
	guest := wasmbuild.Guest(t, filepath.Join(moduleRoot(t), "host", "actors", "testdata", "misbehave"))
	wasm, err := os.ReadFile(guest)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(moduleRoot(t), "host", "actors", "testdata", "misbehave", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := actors.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := ta.Actors.Install(ctx, wasm, m); err != nil {
		t.Fatalf("install the misbehaving actor: %v", err)
	}

	sid := event.NewID()
	want := map[string]string{"loop": "timed out", "panic": "trapped", "badutf8": "utf-8"}
	ids := map[string]string{} // envelope event_id -> mode
	for mode := range want {
		env, err := event.New(event.TypePageRequest, sid, event.ActorSystem, event.PageRequest{
			RequestID: event.NewID(), Voice: "misbehave", CharacterID: "london-fox", SectionID: 2, Orientation: "N", Prompt: mode,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ta.Bus.Produce(ctx, env, nil); err != nil {
			t.Fatal(err)
		}
		ids[env.EventID] = mode
	}
	// Other readers carry on while the bad voice fails.
	reader := event.NewID()
	cue := ta.postSymbol(t, reader, ta.character(t, 3), "E")
	ta.waitPage(t, reader, cue)

	cl, err := kgo.NewClient(append(ta.Bus.ClientOptions(), kgo.ConsumeTopics(event.TopicDLQ), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]string{}
	deadline := time.Now().Add(pageDeadline)
	for len(got) < len(ids) && time.Now().Before(deadline) {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			env, err := event.Decode(r.Value)
			if err != nil || ids[env.EventID] == "" {
				return
			}
			for _, h := range r.Headers {
				if h.Key == event.HeaderDLQReason {
					got[ids[env.EventID]] = string(h.Value)
				}
			}
		})
	}
	for mode, word := range want {
		reason, ok := got[mode]
		if !ok {
			t.Errorf("the %q request never reached %s", mode, event.TopicDLQ)
			continue
		}
		if !strings.Contains(strings.ToLower(reason), word) {
			t.Errorf("the %q request was dead-lettered with reason %q, want it to mention %q", mode, reason, word)
		}
		t.Logf("%s -> dlq: %s", mode, reason)
	}
	info, _ := ta.Actors.Get("misbehave")
	// Bounded retries: each request is tried 3 times (the bus's MaxAttempts), no more.
	if info.Errors < 9 || info.Calls > 9+2 {
		t.Errorf("misbehave: %d calls, %d errors; want each of the 3 requests tried 3 times", info.Calls, info.Errors)
	}
	for _, ev := range ta.events(t, sid) {
		if ev.Type == event.TypePageDone {
			t.Errorf("a failing actor's request produced a page: %s", ev.Payload)
		}
	}
}
