package app

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/bus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/stream"
)

// later returns the stream's look-ahead for a record: the envelopes after it in its
// partition, up to the partition's end at the time of the call. The debounce of dial turns
// uses it: a turn acknowledged to the reader before the earlier turn's window closed is
// always there to be seen, whatever the consumer has fetched so far.
func (a *App) later(r *bus.Record) stream.Later {
	return func(ctx context.Context) ([]event.Envelope, error) {
		ends, err := a.Bus.Admin().ListEndOffsets(ctx, r.Topic)
		if err != nil {
			return nil, err
		}
		end, ok := ends.Lookup(r.Topic, r.Partition)
		if !ok || end.Err != nil {
			return nil, fmt.Errorf("end offset of %s/%d unknown", r.Topic, r.Partition)
		}
		if end.Offset <= r.Offset+1 {
			return nil, nil
		}
		cl, err := kgo.NewClient(append(a.Bus.ClientOptions(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.Topic: {r.Partition: kgo.NewOffset().At(r.Offset + 1)}}),
			kgo.FetchMaxWait(200*time.Millisecond),
		)...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var out []event.Envelope
		for {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("look ahead in %s/%d: %w", r.Topic, r.Partition, err)
			}
			last := int64(-1)
			fs.EachRecord(func(rec *kgo.Record) {
				last = rec.Offset
				if env, err := event.Decode(rec.Value); err == nil {
					out = append(out, env)
				}
			})
			if last >= end.Offset-1 {
				return out, nil
			}
		}
	}
}
