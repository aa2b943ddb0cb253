// Package app wires the host together: the bus (embedded kfake or real Kafka), the store
// (embedded Pebble or Cassandra), the corpus and its RAG index, the actor runtime, the
// stages (stream, runner, ledger, live gateway) and the web reader. host/cmd/gibsey is a
// thin command line over it; the end-to-end tests drive it in-process.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/bus"
	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/ledger"
	"github.com/gibsey/gibsey/host/live"
	"github.com/gibsey/gibsey/host/llm"
	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/runner"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/host/store/cassandra"
	"github.com/gibsey/gibsey/host/store/embedded"
	"github.com/gibsey/gibsey/host/stream"
)

// App is a running host.
type App struct {
	cfg       Config
	Log       *slog.Logger
	Bus       *bus.Bus
	Store     store.Store
	Corpus    *corpus.Corpus
	Retriever *rag.Retriever
	Embedder  rag.Embedder
	Actors    *actors.Runtime
	Hub       *live.Hub
	LLM       *llm.Client

	handler http.Handler
	stored  storedPages

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errMu    sync.Mutex
	stageErr error
}

// New opens everything and starts the stages. The web handler is ready when New returns;
// Close stops it all.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, Log: cfg.Logger, Hub: live.New()}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	c, err := corpus.Load(cfg.CorpusDir)
	if err != nil {
		return nil, err
	}
	a.Corpus = c

	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if cfg.wrapStore != nil {
		a.Store = cfg.wrapStore(a.Store)
	}
	a.Embedder = rag.NewHashEmbedder()
	if cfg.EmbeddingsURL != "" {
		a.Embedder = &rag.OpenAIEmbedder{BaseURL: cfg.EmbeddingsURL, Model: cfg.EmbeddingsModel, APIKey: cfg.EmbeddingsKey, Dims: cfg.EmbeddingsDims}
	}
	start := time.Now()
	n, err := rag.Ingest(ctx, a.Store, c, a.Embedder)
	if err != nil {
		return nil, fmt.Errorf("ingest corpus %s: %w", cfg.CorpusDir, err)
	}
	a.Log.Info("corpus ready", "dir", cfg.CorpusDir, "characters", len(c.Characters()), "passages_ingested", n, "took", time.Since(start).Round(time.Millisecond))
	a.Retriever = rag.NewRetriever(a.Store, c, a.Embedder)
	if cfg.GenerateURL != "" {
		a.LLM = &llm.Client{BaseURL: cfg.GenerateURL, Model: cfg.GenerateModel, APIKey: cfg.GenerateKey}
	}

	b, err := bus.Open(ctx, bus.Config{
		Brokers: cfg.Kafka, DataDir: filepath.Join(cfg.DataDir, "kafka"),
		Partitions: cfg.KafkaPartitions, Replication: cfg.KafkaReplication,
		Security: cfg.KafkaSecurity, Logger: a.Log, ClientID: "gibsey-host",
	})
	if err != nil {
		return nil, err
	}
	a.Bus = b

	if err := a.openActors(ctx); err != nil {
		return nil, err
	}
	a.handler = a.newWeb()

	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.startStages()
	ok = true
	return a, nil
}

func (a *App) openStore(ctx context.Context) error {
	if len(a.cfg.Cassandra) == 0 {
		st, err := embedded.Open(filepath.Join(a.cfg.DataDir, "store"))
		if err != nil {
			return err
		}
		a.Store = st
		return nil
	}
	st, err := cassandra.Open(ctx, a.cassandraConfig())
	if err != nil {
		return err
	}
	a.Store = st
	return nil
}

func (a *App) cassandraConfig() cassandra.Config {
	return cassandra.Config{
		Hosts: a.cfg.Cassandra, Keyspace: a.cfg.Keyspace, Consistency: a.cfg.CassandraConsistency,
		Replication: a.cfg.CassandraReplication, Username: a.cfg.CassandraUser, Password: a.cfg.CassandraPassword,
		Dimensions: a.embedDims(),
	}
}

func (a *App) embedDims() int {
	if a.cfg.EmbeddingsURL != "" && a.cfg.EmbeddingsDims > 0 {
		return a.cfg.EmbeddingsDims
	}
	return rag.NewHashEmbedder().Dimensions()
}

// Handler is the web reader.
func (a *App) Handler() http.Handler { return a.handler }

// Emit produces an event to its topic. A failed produce is transient for the stage that
// emits: it retries the record it is handling instead of dead-lettering it.
func (a *App) Emit(ctx context.Context, env event.Envelope) error {
	if err := a.Bus.Produce(ctx, env, nil); err != nil {
		return bus.Transient(err)
	}
	return nil
}

// Ready says whether the host can serve readers: broker, store and the page actor.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.Bus.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !a.Actors.ForVoice("page") {
		return errors.New("actors: no PageGenerator (voice \"page\") is loaded")
	}
	a.errMu.Lock()
	defer a.errMu.Unlock()
	if a.stageErr != nil {
		return a.stageErr
	}
	return nil
}

func (a *App) group(name string) string { return a.cfg.GroupPrefix + "-" + name }

// startStages runs the consumer stages until Close.
func (a *App) startStages() {
	led := &ledger.Ledger{Store: a.Store, Emit: a.Emit, SnapshotEvery: a.cfg.SnapshotEvery, Fold: a.fold, Logger: a.Log, Stored: a.stored.done}
	proc := &stream.Processor{
		Store: a.Store, Emit: a.Emit, Cast: castOf(a.Corpus), Interpret: a.interpret,
		Debounce: a.cfg.Debounce, Voices: a.cfg.Voices, Logger: a.Log,
	}
	run := &runner.Runner{Actors: actorsGenerator{a}, Emit: a.Emit, Logger: a.Log}

	ledgerTopics := []string{}
	for _, t := range event.Topics {
		if t != event.TopicDLQ {
			ledgerTopics = append(ledgerTopics, t)
		}
	}
	stages := []bus.Stage{
		{Name: a.group("ledger"), Topics: ledgerTopics, Concurrency: 2, Handle: func(ctx context.Context, r *bus.Record) error {
			if err := led.Handle(ctx, r.Env, r.Headers); err != nil {
				if errors.Is(err, ledger.ErrStore) {
					return bus.Transient(err)
				}
				return err
			}
			return nil
		}},
		{Name: a.group("stream"), Topics: []string{event.TopicUISymbol, event.TopicUIOrientation, event.TopicAsk, event.TopicPageDone}, Concurrency: 2,
			Handle: func(ctx context.Context, r *bus.Record) error {
				err := proc.Handle(ctx, r.Env, a.later(r))
				if err != nil && errors.Is(err, stream.ErrStore) {
					return bus.Transient(err)
				}
				return err
			}},
		{Name: a.group("runner"), Topics: []string{event.TopicPageRequest}, Concurrency: 2, Handle: func(ctx context.Context, r *bus.Record) error {
			err := run.Handle(ctx, r.Env)
			if err != nil && errors.Is(err, runner.ErrTransient) {
				return bus.Transient(err)
			}
			return err
		}},
		{Name: a.group("live-" + event.NewID()[:8]), Topics: []string{event.TopicPageDone}, StartAtEnd: true, Handle: func(ctx context.Context, r *bus.Record) error {
			ev := store.FromEnvelope(r.Env, r.Headers)
			a.awaitStored(ctx, ev)
			a.Hub.Publish(ev)
			return nil
		}},
	}
	for _, s := range stages {
		s := s
		if a.cfg.NewGroupsAtEnd {
			s.StartAtEnd = true
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.Bus.Run(a.ctx, s); err != nil {
				a.Log.Error("stage stopped", "stage", s.Name, "err", err)
				a.errMu.Lock()
				a.stageErr = fmt.Errorf("stage %s: %w", s.Name, err)
				a.errMu.Unlock()
			}
		}()
	}
	if a.cfg.WatchPlugins {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.Actors.Watch(a.ctx, a.cfg.PluginsDir); err != nil && a.ctx.Err() == nil {
				a.Log.Error("plugin watcher stopped", "err", err)
			}
		}()
	}
}

// liveStoreWait bounds how long the live tail holds a page for the ledger to store it.
const liveStoreWait = 5 * time.Second

// awaitStored holds a page read by the live tail until the ledger has stored it and the
// event it answers (at most liveStoreWait), when a reader watches its session. The live
// tail and the ledger read the topic independently, so the tail is often first; a reader
// told about a page fetches it (its server-rendered fragment, its answer placement under
// Receive, "Why this page") from the store, and a page not stored yet is a 404 there. When
// the store cannot answer, or the ledger is held up for longer, the page goes out anyway:
// the reader's script falls back to the event's own data.
func (a *App) awaitStored(ctx context.Context, ev store.StoredEvent) {
	if a.Hub.Subscribers(ev.SessionID) == 0 {
		return
	}
	ids := []string{ev.EventID}
	var pd event.PageDone
	if json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID != "" {
		ids = append(ids, pd.Provenance.CauseEventID)
	}
	ctx, cancel := context.WithTimeout(ctx, liveStoreWait)
	defer cancel()
	// This host's ledger says when it has stored the page; another host's ledger is seen
	// by polling the store.
	storedHere, forget := a.stored.wait(ev.EventID)
	defer forget()
	pause := 10 * time.Millisecond
	for _, id := range ids {
		for {
			ok, err := a.Store.HasEvent(ctx, ev.SessionID, id)
			if err != nil || ok {
				break
			}
			var here <-chan struct{}
			if id == ev.EventID {
				here = storedHere
			}
			select {
			case <-ctx.Done():
				return
			case <-here:
			case <-time.After(pause):
			}
			pause = min(2*pause, 200*time.Millisecond)
		}
	}
}

// storedPages lets the live tail wait for this host's ledger to store a page.
type storedPages struct {
	mu      sync.Mutex
	waiters map[string]chan struct{}
}

// wait returns a channel closed when the page's event is stored here, and a function to
// call when done waiting.
func (s *storedPages) wait(eventID string) (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiters == nil {
		s.waiters = map[string]chan struct{}{}
	}
	ch, ok := s.waiters[eventID]
	if !ok {
		ch = make(chan struct{})
		s.waiters[eventID] = ch
	}
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.waiters[eventID] == ch {
			delete(s.waiters, eventID)
		}
	}
}

// done is the ledger's Stored hook.
func (s *storedPages) done(_, eventID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.waiters[eventID]; ok {
		close(ch)
		delete(s.waiters, eventID)
	}
}

// Close stops the stages (committing what is done) and closes everything.
func (a *App) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	var errs []error
	if a.Actors != nil {
		errs = append(errs, a.Actors.Close(context.Background()))
	}
	if a.Bus != nil {
		errs = append(errs, a.Bus.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// Serve runs the host on cfg.Addr until ctx ends.
func Serve(ctx context.Context, cfg Config) error {
	a, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	// Open streams (SSE) end when shutdown starts, so that stopping the host never waits
	// on a reader's open page.
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	srv := &http.Server{Addr: a.cfg.Addr, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams }}
	srv.RegisterOnShutdown(endStreams)
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	a.Log.Info("reader ready", "url", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.Log.Warn("connections still open at shutdown; closing them", "err", err)
		srv.Close()
	}
	return nil
}
