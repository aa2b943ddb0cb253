package web

import "time"

// SetCursorGrace sets how long SSE streams wait for an unknown Last-Event-ID and returns
// a function that restores the old value. Call it before the server of the test starts.
func SetCursorGrace(d time.Duration) (restore func()) {
	old := cursorGrace
	cursorGrace = d
	return func() { cursorGrace = old }
}
