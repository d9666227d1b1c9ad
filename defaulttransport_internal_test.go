package connector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSilenceOverHTTP2: the bound on a wait for more of an API answer
// holds over TLS and HTTP/2, as the providers' APIs speak it, where one
// connection carries many answers: an answer that stops coming is given up
// after d, and only that answer (the connection's other answers go on); one
// that keeps coming is read whole however long it takes; and a caller that
// reads a large answer slowly, so that the provider waits on the stream's
// flow-control window, is not cut off.
func TestSilenceOverHTTP2(t *testing.T) {
	const d = 300 * time.Millisecond
	big := strings.Repeat("0123456789abcdef", 1<<20) // 16 MiB: more than HTTP/2's windows
	srv, _ := tlsServer(t, true, func(w http.ResponseWriter, r *http.Request, hold func()) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/stall":
			io.WriteString(w, "[1,")
			w.(http.Flusher).Flush()
			hold()
		case "/v1/stream": // six parts, d/3 apart: longer than d in all
			for i := range 6 {
				if i > 0 {
					time.Sleep(d / 3)
				}
				io.WriteString(w, "[1]\n")
				w.(http.Flusher).Flush()
			}
		case "/v1/big":
			io.WriteString(w, big)
		default:
			io.WriteString(w, "{}")
		}
	})
	// bodyIdle d, as the default transport's, over the test server's TLS
	conn := silentConn(t, srv, srv.Client(), d)
	// Without the bound, a case would wait for this and fail.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(t *testing.T, path string, pause time.Duration) (string, error) {
		t.Helper()
		resp := h2Get(t, conn, ctx, path)
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for i := 0; ; i++ {
			if i == 1 || i == 2 {
				time.Sleep(pause)
			}
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err == io.EOF {
				return b.String(), nil
			}
			if err != nil {
				return b.String(), err
			}
		}
	}

	t.Run("an answer that stops coming, beside one that does not", func(t *testing.T) {
		other := make(chan error, 1)
		go func() {
			time.Sleep(d / 2) // on the same connection, while the first waits
			body, err := get(t, "stream", 0)
			if err == nil && body != strings.Repeat("[1]\n", 6) {
				err = errors.New("read " + body)
			}
			other <- err
		}()
		body, err := get(t, "stall", 0)
		if body != "[1," {
			t.Errorf("read %q before the silence, want what was sent", body)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "(Timeout)") || ctx.Err() != nil {
			t.Errorf("reading the answer: %v, want the silence after %v", err, d)
		}
		if err := <-other; err != nil {
			t.Errorf("the other answer on the connection: %v", err)
		}
	})
	t.Run("a slow reader of a large answer", func(t *testing.T) {
		body, err := get(t, "big", 2*d)
		if err != nil || len(body) != len(big) {
			t.Errorf("read %d of %d bytes: %v", len(body), len(big), err)
		}
	})
}
