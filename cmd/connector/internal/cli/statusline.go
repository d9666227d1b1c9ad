package cli

import (
	"io"
	"sync"
)

// clearLine returns a terminal's cursor to the start of its line and
// erases the line.
const clearLine = "\r\x1b[K"

// statusLine serializes what a command writes on standard error: whole
// lines (messages, --verbose's trace and log lines) and one status line
// redrawn in place without a newline (refresh --due's progress, drawn
// only on a terminal). Every write holds its mutex, so that a line never
// lands after the status line's text, nor the status line inside a line.
// While no status line is drawn it writes lines exactly as given: nothing
// but draw ever writes an escape sequence. The zero statusLine is ready to
// use.
type statusLine struct {
	mu   sync.Mutex
	text string // the status line on screen; "" when none is
}

// println writes line and a newline on w. A status line on screen is
// cleared first and drawn again after the line, in the same write: it
// stays in sight below the lines, rather than vanishing until the next
// draw (a refresh --due's next progress comes only when a connection is
// done, which may be seconds later with a provider that answers slowly),
// at the cost of one more copy of it per line.
func (s *statusLine) println(w io.Writer, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.text == "" {
		io.WriteString(w, line+"\n")
		return
	}
	io.WriteString(w, clearLine+line+"\n"+clearLine+s.text)
}

// draw replaces the status line on w with text, a line without a newline;
// its caller draws only on a terminal (IO.Progress).
func (s *statusLine) draw(w io.Writer, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text = text
	io.WriteString(w, clearLine+text)
}

// clear erases the status line from w, if one is drawn, so that what
// follows starts on a clean line.
func (s *statusLine) clear(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.text == "" {
		return
	}
	s.text = ""
	io.WriteString(w, clearLine)
}
