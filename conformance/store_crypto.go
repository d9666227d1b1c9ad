package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// The envelope layout of store.Keyring: version(1) | key id(4) | nonce(12) |
// ciphertext+tag(16).
const (
	storeNonceStart = 1 + 4
	storeNonceEnd   = storeNonceStart + 12
)

// storeRandomToken returns a token-like string that appears nowhere else.
func storeRandomToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// storeSealedRecord returns storeSample(id) with token sealed in its Secret.
func storeSealedRecord(keys *store.Keyring, id, token string) (*store.Record, error) {
	sealed, err := keys.Seal(id, []byte(token))
	if err != nil {
		return nil, storeNoErr(err, "Seal")
	}
	rec := storeSample(id)
	rec.Secret = sealed
	return rec, nil
}

// storeSealedFixture makes a fresh store and a keyring, and creates the
// record id holding token sealed: the start of every encryption check.
func storeSealedFixture(ctx context.Context, e *storeEnv, id, token string) (store.Store, *store.Keyring, *store.Record, error) {
	s, err := e.fresh(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := store.NewKeyring(store.NewRandomKey())
	if err != nil {
		return nil, nil, nil, err
	}
	rec, err := storeSealedRecord(keys, id, token)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := storeCreate(ctx, s, rec); err != nil {
		return nil, nil, nil, err
	}
	return s, keys, rec, nil
}

// storeOpenStored gets id and opens its Secret with keys.
func storeOpenStored(ctx context.Context, s store.Store, keys *store.Keyring, id string) ([]byte, *store.Record, error) {
	rec, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, storeNoErr(err, "Get")
	}
	pt, err := keys.Open(id, rec.Secret)
	return pt, rec, err
}

func storeCheckSealedRoundTrip(ctx context.Context, e *storeEnv) error {
	token := storeRandomToken("rt-")
	s, keys, _, err := storeSealedFixture(ctx, e, "sealed", token)
	if err != nil {
		return err
	}
	pt, _, err := storeOpenStored(ctx, s, keys, "sealed")
	if err != nil {
		return fmt.Errorf("the stored sealed secret does not open (the store changed its bytes?): %w", err)
	}
	if string(pt) != token {
		return fmt.Errorf("opened %q, want %q", pt, token)
	}
	return nil
}

func storeCheckTamperedRefused(ctx context.Context, e *storeEnv) error {
	token := storeRandomToken("tamper-")
	s, keys, rec, err := storeSealedFixture(ctx, e, "t", token)
	if err != nil {
		return err
	}
	n := len(rec.Secret)
	cases := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"version byte", func(b []byte) []byte { b[0] ^= 0x01; return b }},
		{"key id", func(b []byte) []byte { b[2] ^= 0x01; return b }},
		{"nonce", func(b []byte) []byte { b[storeNonceStart+3] ^= 0x80; return b }},
		{"ciphertext", func(b []byte) []byte { b[storeNonceEnd] ^= 0x01; return b }},
		{"tag", func(b []byte) []byte { b[n-1] ^= 0x01; return b }},
		{"truncated", func(b []byte) []byte { return b[:n-1] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
	}
	for _, c := range cases {
		cur, err := s.Get(ctx, "t")
		if err != nil {
			return storeNoErr(err, "Get")
		}
		orig := bytes.Clone(rec.Secret)
		cur.Secret = c.mutate(bytes.Clone(orig))
		if _, err := s.Put(ctx, cur, 0); err != nil {
			return storeNoErr(err, "Put a tampered secret")
		}
		pt, _, err := storeOpenStored(ctx, s, keys, "t")
		if err == nil {
			return fmt.Errorf("a secret tampered at its %s opened (to %q)", c.name, pt)
		}
		if driver.CodeOf(err) != driver.Store {
			return fmt.Errorf("a secret tampered at its %s: error code %s, want %s", c.name, driver.CodeOf(err), driver.Store)
		}
		if strings.Contains(err.Error(), token) {
			return fmt.Errorf("the error for a tampered secret holds the token: %v", err)
		}
	}
	return nil
}

func storeCheckMovedRefused(ctx context.Context, e *storeEnv) error {
	token := storeRandomToken("moved-")
	s, keys, a, err := storeSealedFixture(ctx, e, "conn-a", token)
	if err != nil {
		return err
	}
	b := storeSample("conn-b")
	b.Secret = a.Secret // copied by someone with write access to the store
	if err := storeCreate(ctx, s, b); err != nil {
		return err
	}
	pt, got, err := storeOpenStored(ctx, s, keys, "conn-b")
	if err == nil {
		return fmt.Errorf("a secret sealed for conn-a opened as conn-b's (to %q)", pt)
	}
	if _, err := keys.Open("conn-a", got.Secret); err != nil {
		return fmt.Errorf("the moved bytes no longer open as conn-a's, so the store changed them: %w", err)
	}
	return nil
}

func storeCheckKeyRotation(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	k1, k2 := store.NewRandomKey(), store.NewRandomKey()
	old, err := store.NewKeyring(k1)
	if err != nil {
		return err
	}
	rotated, err := store.NewKeyring(k2, k1)
	if err != nil {
		return err
	}
	newOnly, err := store.NewKeyring(k2)
	if err != nil {
		return err
	}
	token := storeRandomToken("rotate-")
	rec, err := storeSealedRecord(old, "rot", token)
	if err != nil {
		return err
	}
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	// After the rotation, the row written under the old key still opens.
	pt, got, err := storeOpenStored(ctx, s, rotated, "rot")
	if err != nil {
		return fmt.Errorf("a row under the old key does not open after rotation (NewKeyring(new, old)): %w", err)
	}
	if string(pt) != token {
		return fmt.Errorf("opened %q, want %q", pt, token)
	}
	if _, err := newOnly.Open("rot", got.Secret); err == nil {
		return errors.New("a row under the old key opened with the new key alone")
	}
	// Its next write re-seals it under the new key.
	if got.Secret, err = rotated.Seal("rot", pt); err != nil {
		return err
	}
	if _, err := s.Put(ctx, got, 0); err != nil {
		return storeNoErr(err, "Put the re-sealed row")
	}
	pt, got, err = storeOpenStored(ctx, s, newOnly, "rot")
	if err != nil {
		return fmt.Errorf("the re-sealed row does not open with the new key alone: %w", err)
	}
	if string(pt) != token {
		return fmt.Errorf("opened %q, want %q", pt, token)
	}
	if id, ok := store.EnvelopeKeyID(got.Secret); !ok || id != store.KeyID(k2) {
		return fmt.Errorf("the re-sealed row names key %08x, want the new key %08x", id, store.KeyID(k2))
	}
	if _, err := old.Open("rot", got.Secret); err == nil {
		return errors.New("the re-sealed row still opens with the old key alone")
	}
	return nil
}

func storeCheckNoncesUnique(_ context.Context, _ *storeEnv) error {
	keys, err := store.NewKeyring(store.NewRandomKey())
	if err != nil {
		return err
	}
	const n = 10000
	seen := make(map[[12]byte]int, n)
	pt := []byte("the same token every time")
	for i := range n {
		env, err := keys.Seal("same-connection", pt)
		if err != nil {
			return storeNoErr(err, "Seal")
		}
		var nonce [12]byte
		copy(nonce[:], env[storeNonceStart:storeNonceEnd])
		if j, dup := seen[nonce]; dup {
			return fmt.Errorf("seal %d repeated the nonce of seal %d: %x", i, j, nonce)
		}
		seen[nonce] = i
	}
	return nil
}

// storeEncodings returns s as it might appear at rest: raw, hex (both
// cases) and base64 (standard and URL, padded or not).
func storeEncodings(s string) []string {
	b := []byte(s)
	h := hex.EncodeToString(b)
	return []string{
		s, h, strings.ToUpper(h),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
	}
}

// storeFound reports whether any encoding of s is in dump.
func storeFound(dump []byte, s string) bool {
	for _, enc := range storeEncodings(s) {
		if bytes.Contains(dump, []byte(enc)) {
			return true
		}
	}
	return false
}

func storeCheckNoPlaintextAtRest(ctx context.Context, e *storeEnv) error {
	d, ok := e.h.(StoreDumper)
	if !ok {
		return errStoreNotApplicable
	}
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	keys, err := store.NewKeyring(store.NewRandomKey())
	if err != nil {
		return err
	}
	access, refresh := storeRandomToken("access-token-"), storeRandomToken("refresh-token-")
	control := storeRandomToken("unsealed-control-")
	visible := storeRandomToken("visible-account-")
	secret := `{"access_token":"` + access + `","refresh_token":"` + refresh + `"}`

	rec, err := storeSealedRecord(keys, "sealed", secret)
	if err != nil {
		return err
	}
	rec.Account = visible
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	// A second write, so that old row versions are in the dump too.
	if rec.Secret, err = keys.Seal("sealed", []byte(secret)); err != nil {
		return err
	}
	if _, err := s.Put(ctx, rec, 0); err != nil {
		return storeNoErr(err, "Put")
	}
	// The control: bytes written unsealed must show in the dump, else the
	// dump does not cover the Secret.
	ctl := storeSample("control")
	ctl.Secret = []byte(control)
	if err := storeCreate(ctx, s, ctl); err != nil {
		return err
	}
	vals, err := d.RawValues(ctx, e.t, s)
	if err != nil {
		return storeNoErr(err, "harness RawValues")
	}
	return storeJudgeDump(vals, visible, control, map[string]string{"access": access, "refresh": refresh})
}

// storeJudgeDump is the verdict of NoPlaintextAtRest on a dump: it must hold
// the visible account and the unsealed control (else it does not cover the
// records or the Secret), and none of the tokens in any encoding.
func storeJudgeDump(vals [][]byte, visible, control string, tokens map[string]string) error {
	dump := bytes.Join(vals, []byte{0})
	if !storeFound(dump, visible) {
		return fmt.Errorf("the dump (%d values, %d bytes) lacks the account %q: it does not cover the records", len(vals), len(dump), visible)
	}
	if !storeFound(dump, control) {
		return fmt.Errorf("the dump (%d values, %d bytes) lacks the unsealed control secret: it does not cover the Secret", len(vals), len(dump))
	}
	for name, tok := range tokens {
		if storeFound(dump, tok) {
			return fmt.Errorf("the %s token is in the clear at rest", name)
		}
	}
	return nil
}
