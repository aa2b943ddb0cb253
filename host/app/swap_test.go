package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/event"
)

// withCustomSection appends a wasm custom section to a module: a new version with a new
// content hash and the same behaviour.
func withCustomSection(wasm []byte, name, payload string) []byte {
	var body []byte
	body = appendULEB(body, uint64(len(name)))
	body = append(body, name...)
	body = append(body, payload...)
	out := append([]byte(nil), wasm...)
	out = append(out, 0) // custom section id
	out = appendULEB(out, uint64(len(body)))
	return append(out, body...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

func upload(t *testing.T, ta *testApp, token, name string, wasm, manifest []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("wasm", name+".wasm")
	fw.Write(wasm)
	mw.WriteField("manifest", string(manifest))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, ta.URL+"/admin/actors", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ta.client.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestSwapUnderLoad: readers keep clicking while PageGenerator is swapped five times
// through the admin endpoint (and one broken upload is refused): every accepted cue gets
// exactly one page, and each page names the content hash of a version that was serving.
func TestSwapUnderLoad(t *testing.T) {
	const token = "swap-test-token"
	ta := startApp(t, embeddedBackend, appOpts{AdminToken: token, Quiet: true})
	wasm, err := os.ReadFile(filepath.Join(ta.Plugins, "pagegen.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(ta.Plugins, "pagegen.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]bool{actors.Hash(wasm): true}

	type cue struct{ sid, id string }
	var (
		mu   sync.Mutex
		cues []cue
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sid := event.NewID()
			ch := ta.character(t, c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id, status, _ := ta.trySymbol(sid, ch, event.Orientations[i%4])
				if status == http.StatusAccepted {
					mu.Lock()
					cues = append(cues, cue{sid, id})
					mu.Unlock()
				}
				time.Sleep(40 * time.Millisecond)
			}
		}(c)
	}

	swaps := 0
	for i := 1; i <= 5; i++ {
		time.Sleep(700 * time.Millisecond)
		v := withCustomSection(wasm, "gibsey-test-version", fmt.Sprintf("v%d", i))
		status, body := upload(t, ta, token, "pagegen", v, manifest)
		if status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("swap %d: %d %s", i, status, body)
		}
		hashes[actors.Hash(v)] = true
		swaps++
		if i == 3 {
			status, body := upload(t, ta, token, "pagegen", []byte("\x00asm not really"), manifest)
			if status != http.StatusBadRequest {
				t.Fatalf("a broken upload answered %d %s, want 400 with the reason", status, body)
			}
			if info, ok := ta.Actors.Get("pagegen"); !ok || info.Hash != actors.Hash(v) {
				t.Fatalf("after a refused upload, pagegen serves %+v, want the last good version", info)
			}
		}
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Every accepted cue gets exactly one page, written by one of the versions.
	deadline := time.Now().Add(pageDeadline)
	bySession := map[string][]string{}
	for _, c := range cues {
		bySession[c.sid] = append(bySession[c.sid], c.id)
	}
	var lost, dup, pages int
	byHash := map[string]int{}
	for {
		lost, dup, pages = 0, 0, 0
		clear(byHash)
		for sid, ids := range bySession {
			evs := ta.eventsNoFail(sid)
			for _, id := range ids {
				n := 0
				for _, ev := range evs {
					var pd event.PageDone
					if ev.Type == event.TypePageDone && json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID == id && pd.Voice == "page" {
						n++
						byHash[pd.Provenance.ActorHash]++
						if !hashes[pd.Provenance.ActorHash] {
							t.Fatalf("page for cue %s names hash %s, which was never installed", id, pd.Provenance.ActorHash)
						}
					}
				}
				switch {
				case n == 0:
					lost++
				case n > 1:
					dup++
				}
				pages += n
			}
		}
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("swap under load: %d cues sent, %d pages, %d lost, %d duplicated; %d swaps + 1 refused; pages by version: %d versions wrote pages", len(cues), pages, lost, dup, swaps, len(byHash))
	if lost != 0 || dup != 0 {
		t.Fatalf("%d lost, %d duplicated of %d cues", lost, dup, len(cues))
	}
	if len(cues) < 20 {
		t.Fatalf("only %d cues were accepted under load", len(cues))
	}
	if len(byHash) < 2 {
		t.Fatalf("pages came from %d version(s): the swaps did not take effect under load", len(byHash))
	}
}

// TestUploadedActorSurvivesRestart: a version uploaded through the admin endpoint is what
// serves after a restart; after a rollback, the plugins folder's version is.
func TestUploadedActorSurvivesRestart(t *testing.T) {
	const token = "restart-token"
	dir := t.TempDir()
	ta := startApp(t, embeddedBackend, appOpts{AdminToken: token, DataDir: dir, Quiet: true})
	wasm, err := os.ReadFile(filepath.Join(ta.Plugins, "commentary.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(ta.Plugins, "commentary.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := withCustomSection(wasm, "gibsey-test-version", "kept")
	if status, body := upload(t, ta, token, "commentary", v, manifest); status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	ta.stop()

	ta = startApp(t, embeddedBackend, appOpts{AdminToken: token, DataDir: dir, Quiet: true})
	if info, _ := ta.Actors.Get("commentary"); info.Hash != actors.Hash(v) {
		t.Fatalf("after a restart commentary serves %s, want the uploaded %s", info.Hash, actors.Hash(v))
	}
	req, _ := http.NewRequest(http.MethodPost, ta.URL+"/admin/actors/commentary/rollback", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ta.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rollback: %d %s", resp.StatusCode, body)
	}
	ta.stop()
	ta = startApp(t, embeddedBackend, appOpts{AdminToken: token, DataDir: dir, Quiet: true})
	if info, _ := ta.Actors.Get("commentary"); info.Hash != actors.Hash(wasm) {
		t.Fatalf("after rollback and restart commentary serves %s, want the plugins folder's %s", info.Hash, actors.Hash(wasm))
	}
}
