// Package authoring is the author's side of Gibsey: the `gibsey actor ...` commands that
// scaffold a voice (new), build it to WebAssembly (build), run it offline against one event
// (run), and hot-swap it into a running host (upload) or restore the previous version
// (rollback). Main is the entry point host/cmd/gibsey calls with the arguments after "actor".
package authoring
