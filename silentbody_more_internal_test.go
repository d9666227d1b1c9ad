package connector

// Third review of silentBody, inside the package: HTTP/2.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSilentBodyCloseDuringStalledGzipReadHTTP2: the HTTP/2 form of
// TestSilentBodyCloseDuringStalledGzipRead (http2gzipReader's Close also
// waits for the lock its Read holds while it reads the gzip header).
func TestSilentBodyCloseDuringStalledGzipReadHTTP2(t *testing.T) {
	const d = 150 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer close(release)
	client := srv.Client()
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	conn := silentConn(t, srv, client, d)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := conn.NewRequest(ctx, "GET", "gz", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || !resp.Uncompressed {
		t.Fatalf("%s, uncompressed %v: the case does not apply", resp.Proto, resp.Uncompressed)
	}
	readDone := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); readDone <- err }()
	time.Sleep(d / 3)
	closeDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		resp.Body.Close()
		closeDone <- time.Since(start)
	}()
	select {
	case el := <-closeDone:
		t.Logf("Close returned after %v", el)
	case <-time.After(4 * d):
		el := <-closeDone
		t.Errorf("HTTP/2: Close from another goroutine during a stalled gzipped Read returned only after %v, when the caller's context ended (bound %v)", el.Round(time.Millisecond), d)
	}
	<-readDone
}
