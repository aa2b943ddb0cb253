package live

import (
	"testing"

	"github.com/gibsey/gibsey/host/store"
)

func TestHubDeliversOnlyToTheSession(t *testing.T) {
	h := New()
	a, cancelA := h.Subscribe("a")
	b, cancelB := h.Subscribe("b")
	defer cancelB()
	h.Publish(store.StoredEvent{SessionID: "a", EventID: "1"})
	if got := <-a; got.EventID != "1" {
		t.Fatalf("got %v", got)
	}
	select {
	case ev := <-b:
		t.Fatalf("session b got a's event %v", ev)
	default:
	}
	cancelA()
	cancelA() // idempotent
	if h.Subscribers("a") != 0 {
		t.Fatal("cancel did not unsubscribe")
	}
	for i := 0; i < 1000; i++ { // a full buffer never blocks the publisher
		h.Publish(store.StoredEvent{SessionID: "b", EventID: "x"})
	}
}
