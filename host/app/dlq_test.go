package app

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

// poison is one malformed record produced raw to a consumed topic.
type poison struct {
	topic, kind, tag string
	wantReason       string
	partition        int32
	offset           int64
}

// goodEnvelope is a valid envelope of the topic's type, as JSON.
func goodEnvelope(t *testing.T, topic, sid string) []byte {
	t.Helper()
	var payload any
	typ := ""
	switch topic {
	case event.TopicUISymbol:
		typ, payload = event.TypeSymbol, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "N"}
	case event.TopicUIOrientation:
		typ, payload = event.TypeOrientation, event.OrientationTurn{Orientation: "E"}
	case event.TopicAsk:
		typ, payload = event.TypeAsk, event.Ask{Prompt: "who is reading whom?"}
	case event.TopicPageRequest:
		typ, payload = event.TypePageRequest, event.PageRequest{RequestID: event.NewID(), Voice: "page", CharacterID: "princhetta", SectionID: 8, Orientation: "N"}
	case event.TopicPageDone:
		typ, payload = event.TypePageDone, event.PageDone{PageID: event.NewID(), SessionID: sid, CharacterID: "princhetta", SectionID: 8, Orientation: "N", Voice: "page", Title: "t", Text: "x",
			Provenance: event.PageProvenance{Actor: "pagegen", ActorHash: "abc"}}
	default:
		t.Fatalf("no good envelope for %s", topic)
	}
	env, err := event.New(typ, sid, event.ActorSystem, payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := event.Decode(mustMarshal(t, env)); err != nil {
		t.Fatalf("the good envelope for %s does not decode: %v", topic, err)
	}
	return mustMarshal(t, env)
}

func mustMarshal(t *testing.T, env event.Envelope) []byte {
	t.Helper()
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMalformedGoesToDLQ: on every consumed topic, a record that is not JSON, has a bad
// uuid, an unknown type or a payload of the wrong schema goes to gibsey.dlq with the reason,
// the source topic, partition and offset in its headers; the stages move on, and a good cue
// afterwards still becomes a page.
func TestMalformedGoesToDLQ(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := startApp(t, be, appOpts{})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		sid := event.NewID() // the key of every poison record and of the good cue after them

		ends, err := ta.Bus.Admin().ListEndOffsets(ctx, event.TopicDLQ)
		if err != nil {
			t.Fatalf("end offsets of %s: %v", event.TopicDLQ, err)
		}
		from := map[int32]kgo.Offset{}
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err != nil {
				t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
			}
			from[o.Partition] = kgo.NewOffset().At(o.Offset)
		})

		var sent []*poison
		for _, topic := range []string{event.TopicUISymbol, event.TopicUIOrientation, event.TopicAsk, event.TopicPageRequest, event.TopicPageDone} {
			good := string(goodEnvelope(t, topic, sid))
			env, _ := event.Decode([]byte(good))
			kinds := []struct{ kind, value, reason string }{
				{"not JSON", "this is not JSON {", "malformed"},
				{"bad uuid", strings.Replace(good, env.EventID, "not-a-uuid", 1), "event_id"},
				{"unknown type", strings.Replace(good, `"type":"`+env.Type+`"`, `"type":"no.such.type"`, 1), "unknown event type"},
				{"wrong schema", strings.Replace(good, string(env.Payload), `{"orientation":5,"section_id":"eight"}`, 1), "malformed"},
			}
			for _, k := range kinds {
				if k.value == good {
					t.Fatalf("%s %s: the malformed value equals the good one", topic, k.kind)
				}
				p := &poison{topic: topic, kind: k.kind, tag: event.NewID(), wantReason: k.reason}
				p.partition, p.offset, err = ta.Bus.ProduceRawAt(ctx, topic, []byte(sid), []byte(k.value), map[string]string{"x-test-tag": p.tag})
				if err != nil {
					t.Fatalf("produce %s to %s: %v", k.kind, topic, err)
				}
				sent = append(sent, p)
			}
		}

		// A good cue of the same session, behind the poison on the same partitions.
		stream := ta.openSSE(t, sid, "")
		c := ta.characterByID(t, "princhetta")
		cue := ta.postSymbol(t, sid, c, "W")

		cl, err := kgo.NewClient(append(ta.Bus.ClientOptions(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{event.TopicDLQ: from}),
			kgo.FetchMaxWait(500*time.Millisecond))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		byTag := map[string]*poison{}
		for _, p := range sent {
			byTag[p.tag] = p
		}
		found := map[string]int{}
		deadline := time.Now().Add(pageDeadline)
		for len(found) < len(sent) && time.Now().Before(deadline) {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			fs := cl.PollFetches(pctx)
			pcancel()
			fs.EachRecord(func(r *kgo.Record) {
				h := map[string]string{}
				for _, kv := range r.Headers {
					h[kv.Key] = string(kv.Value)
				}
				p := byTag[h["x-test-tag"]]
				if p == nil || string(r.Key) != sid {
					return
				}
				found[p.tag]++
				reason := h[event.HeaderDLQReason]
				if !strings.Contains(reason, p.wantReason) {
					t.Errorf("%s on %s: dlq reason %q, want it to mention %q", p.kind, p.topic, reason, p.wantReason)
				}
				if h[event.HeaderDLQTopic] != p.topic || h[event.HeaderDLQPartition] != strconv.Itoa(int(p.partition)) || h[event.HeaderDLQOffset] != strconv.FormatInt(p.offset, 10) {
					t.Errorf("%s on %s: dlq headers say %s/%s@%s, want %s/%d@%d", p.kind, p.topic,
						h[event.HeaderDLQTopic], h[event.HeaderDLQPartition], h[event.HeaderDLQOffset], p.topic, p.partition, p.offset)
				}
			})
		}
		for _, p := range sent {
			if found[p.tag] == 0 {
				t.Errorf("%s produced to %s (partition %d, offset %d) never reached %s", p.kind, p.topic, p.partition, p.offset, event.TopicDLQ)
			}
		}
		t.Logf("%d malformed records on 5 topics: all dead-lettered (%d dead letters seen so far: one per consuming stage)", len(sent), sum(found))

		evs, _, pd := ta.waitPage(t, sid, cue)
		stream.waitFor(t, "the good cue's page after the poison", pageOf(cue))
		ta.checkPageFromCorpus(t, pd, c)
		for _, ev := range evs {
			if !event.ValidUUID(ev.EventID) || !event.KnownType(ev.Type) {
				t.Errorf("a malformed record reached events_log: %s %s", ev.EventID, ev.Type)
			}
		}
	})
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
