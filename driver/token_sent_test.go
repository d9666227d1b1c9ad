package driver_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
)

// TestDoTokenBodylessHTTP2RefreshStaysUncertain: over HTTP/2, net/http
// fires WroteHeaders only after the HEADERS frames are flushed to the
// socket (h2_bundle encodeAndWriteHeaders), and RoundTrip returns on a done
// context without waiting for that write. A refresh with no body (HEADERS
// carries END_STREAM: the whole request) whose header write is under way
// when the context ends reaches the provider once the write finishes, so
// DoToken must call it RefreshUncertain, not "nothing written"
// (Unavailable). The small socket buffers and the large header only widen
// the window.
func TestDoTokenBodylessHTTP2RefreshStaysUncertain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	resume := make(chan struct{})
	got := make(chan string, 1) // what the server saw of stream 1
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(4 * time.Second))
		pre := make([]byte, 24)
		if _, err := io.ReadFull(c, pre); err != nil {
			got <- "preface: " + err.Error()
			return
		}
		// Server SETTINGS (empty) and an ACK of the client's.
		c.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
		c.Write([]byte{0, 0, 0, 4, 1, 0, 0, 0, 0})
		paused, endStream := false, false
		hdr := make([]byte, 9)
		for {
			if _, err := io.ReadFull(c, hdr); err != nil {
				got <- "incomplete: " + err.Error()
				return
			}
			n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
			typ, flags := hdr[3], hdr[4]
			sid := binary.BigEndian.Uint32(hdr[5:]) & 0x7fffffff
			if typ == 1 && sid == 1 && !paused {
				// The first HEADERS frame of the request: stop reading
				// until the client has given up.
				paused = true
				<-resume
			}
			if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
				got <- "incomplete: " + err.Error()
				return
			}
			if sid == 1 && typ == 1 && flags&1 != 0 {
				endStream = true
			}
			if sid == 1 && (typ == 1 || typ == 9) && flags&4 != 0 { // END_HEADERS
				if endStream {
					got <- "complete"
				} else {
					got <- "headers only"
				}
				return
			}
			if sid == 1 && typ == 3 { // RST_STREAM before END_HEADERS
				got <- "reset"
				return
			}
		}
	}()

	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				c.(*net.TCPConn).SetWriteBuffer(4096)
			}
			return c, err
		}}
	defer tr.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/token", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	// A signed, bodyless refresh (as shoplineglobal's, but for a provider
	// that is not replay-safe) with a header large enough to fill the
	// socket buffers.
	var b strings.Builder
	for b.Len() < 8<<20 {
		b.WriteString("q9Zx7Kp2Lm4Rt8Vw")
	}
	req.Header.Set("X-Signed", b.String())
	spec := &driver.Spec{Name: "rotating", ScopeSeparator: " ", Token: driver.Request{Format: driver.Form, Auth: driver.InBody}}
	env := testEnv(spec, driver.Endpoint{TokenURL: req.URL.String()}, &http.Client{Transport: tr})
	_, err = driver.DoToken(env, req, "refresh_token", nil, &driver.Token{RefreshToken: "rt"})
	close(resume)
	code := driver.CodeOf(err)
	var seen string
	select {
	case seen = <-got:
	case <-time.After(4 * time.Second):
		t.Fatal("server saw nothing")
	}
	t.Logf("DoToken: code %v, err %v; server: %s", code, err, seen)
	if seen == "complete" && code != driver.RefreshUncertain {
		t.Errorf("the provider received the whole refresh request, yet DoToken classified it %v (not sent): the refresh token would be presented again", code)
	}
}
