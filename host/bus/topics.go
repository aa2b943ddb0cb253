package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrTopicUnusable is wrapped by EnsureTopics when a topic exists with settings the bus
// cannot work with.
var ErrTopicUnusable = errors.New("kafka topic unusable")

// EnsureTopics creates the missing topics (Config.Partitions, Config.Replication) and checks
// the existing ones. The rules:
//
//   - a missing topic is created; a replication factor above the number of brokers is refused
//     before anything is created;
//   - an existing topic is accepted with any partition count of at least 1 (a count different
//     from Config.Partitions is logged, not changed: changing it on a live topic would move
//     sessions between partitions and break their order);
//   - an existing topic is refused when it has cleanup.policy=compact (compaction keeps only
//     the last record per session key and would silently drop events), when its replicas name
//     more brokers than the cluster has, or when its min.insync.replicas is above its
//     replication factor (every acks=all produce would fail);
//   - every partition must have a leader within ConnectTimeout (freshly created topics get
//     theirs within moments).
func (b *Bus) EnsureTopics(ctx context.Context, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConnectTimeout)
	defer cancel()

	md, err := b.metadata(ctx, topics)
	if err != nil {
		return err
	}
	nBrokers := md.brokers
	var missing []string
	for _, t := range topics {
		d, ok := md.topics[t]
		if !ok || errors.Is(d.err, kerr.UnknownTopicOrPartition) {
			missing = append(missing, t)
			continue
		}
		if d.err != nil {
			return fmt.Errorf("%w: %s: %v", ErrTopicUnusable, t, d.err)
		}
	}
	if len(missing) > 0 {
		if int(b.cfg.Replication) > nBrokers {
			return fmt.Errorf("%w: cannot create %s with replication factor %d: the cluster has %d broker(s); lower the replication factor",
				ErrTopicUnusable, strings.Join(missing, ", "), b.cfg.Replication, nBrokers)
		}
		resp, err := b.admin.CreateTopics(ctx, b.cfg.Partitions, b.cfg.Replication, nil, missing...)
		if err != nil {
			return fmt.Errorf("kafka create topics %s: %w", strings.Join(missing, ", "), err)
		}
		for _, t := range missing {
			r := resp[t]
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				msg := r.Err.Error()
				if r.ErrMessage != "" {
					msg += ": " + r.ErrMessage
				}
				return fmt.Errorf("kafka create topic %s (partitions %d, replication %d): %s", t, b.cfg.Partitions, b.cfg.Replication, msg)
			}
			b.log.Info("kafka topic created", "topic", t, "partitions", b.cfg.Partitions, "replication", b.cfg.Replication)
		}
	}

	configs, err := b.admin.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka describe topic configs: %w", err)
	}
	cfgOf := func(topic, key string) string {
		for _, rc := range configs {
			if rc.Name != topic {
				continue
			}
			for _, c := range rc.Configs {
				if c.Key == key {
					return c.MaybeValue()
				}
			}
		}
		return ""
	}

	// Wait until every partition has a leader, then check.
	for {
		md, err = b.metadata(ctx, topics)
		if err != nil {
			return err
		}
		nBrokers = md.brokers
		leaderless := ""
		for _, t := range topics {
			d, ok := md.topics[t]
			if !ok || d.err != nil {
				leaderless = fmt.Sprintf("%s: not visible yet (%v)", t, d.err)
				break
			}
			if len(d.partitions) == 0 {
				leaderless = t + ": no partitions"
				break
			}
			for _, p := range d.partitions {
				if p.Leader < 0 || p.ErrorCode != 0 {
					leaderless = fmt.Sprintf("%s partition %d has no leader (%v)", t, p.Partition, kerr.ErrorForCode(p.ErrorCode))
					break
				}
			}
			if leaderless != "" {
				break
			}
		}
		if leaderless == "" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s after %s", ErrTopicUnusable, leaderless, b.cfg.ConnectTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}

	for _, t := range topics {
		d := md.topics[t]
		if policy := cfgOf(t, "cleanup.policy"); strings.Contains(policy, "compact") {
			return fmt.Errorf("%w: %s has cleanup.policy=%s; Gibsey's event topics must keep every event (compaction keeps only the last per session): set cleanup.policy=delete or recreate the topic",
				ErrTopicUnusable, t, policy)
		}
		rf := len(d.partitions[0].Replicas)
		if rf > nBrokers {
			return fmt.Errorf("%w: %s has replication factor %d but the cluster has %d broker(s)", ErrTopicUnusable, t, rf, nBrokers)
		}
		if v := cfgOf(t, "min.insync.replicas"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > rf {
				return fmt.Errorf("%w: %s has min.insync.replicas=%d above its replication factor %d: every acks=all write would fail",
					ErrTopicUnusable, t, n, rf)
			}
		}
		if got := int32(len(d.partitions)); got != b.cfg.Partitions {
			b.log.Info("kafka topic exists with another partition count; using it as is", "topic", t, "partitions", got, "configured", b.cfg.Partitions)
		}
	}
	return nil
}

// TopicPartitions returns the partition count of each topic that exists.
func (b *Bus) TopicPartitions(ctx context.Context, topics ...string) (map[string]int32, error) {
	td, err := b.admin.ListTopics(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for name, d := range td {
		if d.Err == nil {
			out[name] = int32(len(d.Partitions))
		}
	}
	return out, nil
}

type topicMeta struct {
	err        error
	partitions []kmsg.MetadataResponseTopicPartition
}

type clusterMeta struct {
	brokers int
	topics  map[string]topicMeta
}

// metadata asks a broker directly (bypassing the client's metadata cache, which would hide a
// topic created a moment ago for up to MetadataMinAge).
func (b *Bus) metadata(ctx context.Context, topics []string) (clusterMeta, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, b.client)
	if err != nil {
		return clusterMeta{}, fmt.Errorf("kafka metadata for topics: %w", err)
	}
	out := clusterMeta{brokers: len(resp.Brokers), topics: map[string]topicMeta{}}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		ps := append([]kmsg.MetadataResponseTopicPartition(nil), t.Partitions...)
		sort.Slice(ps, func(i, j int) bool { return ps[i].Partition < ps[j].Partition })
		out.topics[*t.Topic] = topicMeta{err: kerr.ErrorForCode(t.ErrorCode), partitions: ps}
	}
	return out, nil
}
