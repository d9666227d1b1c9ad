package cli

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCallTimeout: connector call gives up on an API that takes the request
// and never answers after the connection string's Timeout, with one line
// naming it and exit 1, with and without --verbose (whose tracing
// transport wraps the library's default one); and prints whole an answer
// whose body streams for longer than Timeout, and stops with that line
// one whose body stops coming for Timeout.
func TestCallTimeout(t *testing.T) {
	const chunk = `{"n":1}` + "\n"
	for _, verbose := range []bool{false, true} {
		for _, tc := range []struct {
			name   string
			handle http.HandlerFunc
			code   ExitCode
			says   string // on stderr, when code is not ExitOK
		}{
			{"no answer", func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}, ExitFailure, "within 1s (Timeout)"},
			{"an answer streamed for longer than Timeout", streamParts, ExitOK, ""},
			{"an answer that stops coming", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, chunk)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}, ExitFailure, "the provider sent nothing more of its answer for 1s (Timeout)"},
		} {
			name := tc.name
			if verbose {
				name += "/verbose"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, "jumpseller", inMemory)
				hostileAuthorize(t, f)
				api := newHostileRecorder(t, tc.handle)
				f.dsn = strings.TrimSuffix(f.dsn, ";") + ";Timeout=1;URL=" + api.srv.URL + "/v1/;"
				args := []string{"call", "GET", f.apiPath}
				if verbose {
					args = append(args, "--verbose")
				}
				start := time.Now()
				r := f.run(args...)
				took := time.Since(start)
				if r.code != tc.code {
					t.Fatalf("call exit %d after %v, want %d; stderr:\n%s", r.code, took, tc.code, r.err)
				}
				if tc.code == ExitOK {
					if got := strings.Count(r.out, `"n"`); got != 6 {
						t.Errorf("call printed %d of the 6 parts of the answer: %q", got, r.out)
					}
					return
				}
				last := r.err
				if verbose { // trace lines come first
					lines := strings.Split(strings.TrimSpace(r.err), "\n")
					last = lines[len(lines)-1] + "\n"
				}
				hostileLine(t, result{code: r.code, out: r.out, err: last}, tc.says)
				if took > 10*time.Second {
					t.Errorf("call gave up after %v; Timeout is 1s", took)
				}
			})
		}
	}
}

// streamParts answers with six parts of JSON (`{"n":1}` lines), one every
// 250 ms: 1.5 s of body, never silent for a second.
func streamParts(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	for range 6 {
		io.WriteString(w, `{"n":1}`+"\n")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(250 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}
