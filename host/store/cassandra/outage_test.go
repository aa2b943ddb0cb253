package cassandra

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// proxy is a TCP proxy to the test cluster that the test can cut and restore, to play
// a Cassandra that goes away and comes back without touching the real one.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
	}
	t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
}

// TestOutageIsUnavailableThenRecovers cuts the connection to the cluster: writes fail
// with an error wrapping store.ErrUnavailable (so callers pause instead of dead-lettering);
// once the cluster is reachable again, the same store writes again.
func TestOutageIsUnavailableThenRecovers(t *testing.T) {
	needCassandra(t)
	p := startProxy(t, withPort(testHosts))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testCfg
	cfg.Hosts = []string{p.addr}
	cfg.Timeout = 5 * time.Second
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	defer s.Close()
	sid := event.NewID()
	appendOne := func() error {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := s.AppendEvent(c, store.StoredEvent{SessionID: sid, EventID: event.NewID(), TS: time.Now(), Type: event.TypeSymbol, Payload: []byte(`{}`)})
		return err
	}
	if err := appendOne(); err != nil {
		t.Fatalf("append before the outage: %v", err)
	}

	p.cut()
	err = appendOne()
	if err == nil {
		t.Fatal("append during the outage succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("append during the outage: %v; want an error wrapping store.ErrUnavailable", err)
	}
	t.Logf("append during the outage: %v", err)
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping during the outage: %v; want store.ErrUnavailable", err)
	}

	p.restore(t)
	var last error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if last = appendOne(); last == nil {
			break
		}
	}
	if last != nil {
		t.Fatalf("the store did not recover after the cluster came back: %v", last)
	}
	evs, err := s.Events(ctx, sid, "")
	if err != nil || len(evs) != 2 {
		t.Fatalf("after recovery the session holds %d events, %v; want 2 (before and after the outage)", len(evs), err)
	}
}
