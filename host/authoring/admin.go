package authoring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The admin endpoints of a running host (web layer), protected by a bearer token:
//
//	POST {host}/admin/actors                  multipart/form-data: field "name" (the actor's
//	                                          name), file fields "wasm" (the module) and
//	                                          "manifest" (its JSON manifest)
//	POST {host}/admin/actors/{name}/rollback  no body
//
// Both answer JSON (the actor's info, or {"error": "..."}) with a 2xx status on success.
const (
	AdminActorsPath = "/admin/actors"
	// TokenEnv is the environment variable upload and rollback read the token from when
	// --token is not given.
	TokenEnv = "GIBSEY_ADMIN_TOKEN"
)

// AdminClient talks to a running host's admin endpoints.
type AdminClient struct {
	// Host is the host's base URL, e.g. http://localhost:8080.
	Host string
	// Token is the admin bearer token.
	Token string
	// HTTP is the client to use (default: one with a 60 s timeout).
	HTTP *http.Client
}

func (a *AdminClient) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 60 * time.Second}
}

func (a *AdminClient) url(path string) (string, error) {
	if a.Host == "" {
		return "", errors.New("--host is required (e.g. http://localhost:8080)")
	}
	u, err := url.Parse(strings.TrimRight(a.Host, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--host %q: want an http(s) URL such as http://localhost:8080", a.Host)
	}
	return u.String() + path, nil
}

// Upload sends a module and its manifest to the host, which compiles, checks and self-tests
// it and swaps it in. It returns the host's JSON answer.
func (a *AdminClient) Upload(ctx context.Context, wasmFile, manifestFile string) ([]byte, error) {
	if a.Token == "" {
		return nil, fmt.Errorf("--token is required (or set %s)", TokenEnv)
	}
	wasm, err := os.ReadFile(wasmFile)
	if err != nil {
		return nil, err
	}
	if manifestFile == "" {
		manifestFile = ManifestFor(wasmFile)
	}
	m, err := ReadManifest(manifestFile) // refuse early, with the field named
	if err != nil {
		return nil, err
	}
	man, err := os.ReadFile(manifestFile)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("name", m.Name); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		field, name string
		data        []byte
	}{{"wasm", filepath.Base(wasmFile), wasm}, {"manifest", filepath.Base(manifestFile), man}} {
		part, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			return nil, err
		}
		if _, err := part.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	u, err := a.url(AdminActorsPath)
	if err != nil {
		return nil, err
	}
	return a.post(ctx, u, mw.FormDataContentType(), &body)
}

// Rollback asks the host to restore the previous version of actor name.
func (a *AdminClient) Rollback(ctx context.Context, name string) ([]byte, error) {
	if a.Token == "" {
		return nil, fmt.Errorf("--token is required (or set %s)", TokenEnv)
	}
	if !voiceNameRE.MatchString(name) {
		return nil, fmt.Errorf("actor name %q is not a valid actor name", name)
	}
	u, err := a.url(AdminActorsPath + "/" + name + "/rollback")
	if err != nil {
		return nil, err
	}
	return a.post(ctx, u, "", nil)
}

func (a *AdminClient) post(ctx context.Context, u, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return b, fmt.Errorf("%s %s: %s: %s", req.Method, u, resp.Status, msg)
	}
	return b, nil
}
