package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/internal/safefile"
)

// Environment variables that hold the encryption keys.
const (
	// EnvKey holds the current key: 32 bytes, standard base64.
	EnvKey = "CONNECTOR_ENCRYPTION_KEY"
	// EnvOldKeys holds earlier keys, comma-separated, still accepted for
	// reading during a rotation.
	EnvOldKeys = "CONNECTOR_ENCRYPTION_OLD_KEYS"
)

// envelope layout: version(1) | key id(4) | nonce(12) | ciphertext+tag.
const (
	envelopeV1  = 1
	keyIDLen    = 4
	nonceLen    = 12
	headerLen   = 1 + keyIDLen + nonceLen
	aadPrefix   = "connector/token/v1"
	keySizeAES  = 32
	keyFileName = "connector.key"
)

// Keyring seals and opens tokens with AES-256-GCM. Every Seal uses a fresh
// random 96-bit nonce; the associated data binds the ciphertext to its
// connection id and key id, so a ciphertext copied to another connection does
// not open. Older keys open what they sealed, so that keys can be rotated:
// set the new key as current, the old one in EnvOldKeys, and rows are
// re-sealed under the new key on their next write.
type Keyring struct {
	current uint32
	keys    map[uint32]cipher.AEAD
	macs    [][]byte // per key, current first: HMAC keys derived for Sign
}

// NewKeyring returns a Keyring that seals with current and opens with current
// or any of old. Each key must be 32 bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{keys: map[uint32]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != keySizeAES {
			return nil, &driver.Error{Code: driver.InvalidConfig, Op: "keyring", Msg: fmt.Sprintf("encryption key %d has %d bytes; AES-256 needs 32", i, len(key))}
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		k.keys[id] = aead
		m := hmac.New(sha256.New, key)
		m.Write([]byte("connector/sign/v1"))
		k.macs = append(k.macs, m.Sum(nil))
	}
	return k, nil
}

// KeyID is the key's identifier in envelopes: the first 4 bytes of its SHA-256.
func KeyID(key []byte) uint32 {
	sum := sha256.Sum256(key)
	return binary.BigEndian.Uint32(sum[:4])
}

// NewRandomKey returns 32 random bytes.
func NewRandomKey() []byte {
	k := make([]byte, keySizeAES)
	if _, err := rand.Read(k); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return k
}

func aad(id string, keyID uint32) []byte {
	b := make([]byte, 0, len(aadPrefix)+1+keyIDLen+len(id))
	b = append(b, aadPrefix...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, keyID)
	return append(b, id...)
}

// Seal encrypts plaintext for connection id under the current key.
func (k *Keyring) Seal(id string, plaintext []byte) ([]byte, error) {
	aead := k.keys[k.current]
	out := make([]byte, headerLen, headerLen+len(plaintext)+aead.Overhead())
	out[0] = envelopeV1
	binary.BigEndian.PutUint32(out[1:], k.current)
	if _, err := rand.Read(out[1+keyIDLen : headerLen]); err != nil {
		return nil, Errorf(err, "cannot draw a nonce")
	}
	return aead.Seal(out, out[1+keyIDLen:headerLen], plaintext, aad(id, k.current)), nil
}

// Open decrypts an envelope sealed for connection id. A tampered envelope, one
// sealed for another connection, or one under an unknown key is an error with
// Code Store that says which.
func (k *Keyring) Open(id string, envelope []byte) ([]byte, error) {
	if len(envelope) < headerLen || envelope[0] != envelopeV1 {
		return nil, Errorf(nil, "sealed token of connection %s is malformed", quote(id))
	}
	keyID := binary.BigEndian.Uint32(envelope[1:])
	aead, ok := k.keys[keyID]
	if !ok {
		return nil, Errorf(nil, "sealed token of connection %s uses key %08x, which is not configured (set %s or %s)", quote(id), keyID, EnvKey, EnvOldKeys)
	}
	pt, err := aead.Open(nil, envelope[1+keyIDLen:headerLen], envelope[headerLen:], aad(id, keyID))
	if err != nil {
		return nil, Errorf(nil, "sealed token of connection %s does not authenticate (tampered, or sealed for another connection)", quote(id))
	}
	return pt, nil
}

// Sign returns a 32-byte HMAC-SHA256 of data under a key derived from the
// current key (never the encryption key itself). Instances that share the
// keys share signatures: the engine signs authorization states with it so
// that any instance can check a callback.
func (k *Keyring) Sign(data []byte) []byte {
	m := hmac.New(sha256.New, k.macs[0])
	m.Write(data)
	return m.Sum(nil)
}

// Verify reports whether sig is Sign(data), or its first len(sig) bytes
// (at least 16), under the current key or an older one, in constant time.
func (k *Keyring) Verify(data, sig []byte) bool {
	if len(sig) < 16 || len(sig) > sha256.Size {
		return false
	}
	ok := false
	for _, key := range k.macs {
		m := hmac.New(sha256.New, key)
		m.Write(data)
		ok = hmac.Equal(m.Sum(nil)[:len(sig)], sig) || ok
	}
	return ok
}

// CurrentKeyID returns the id of the key Seal uses.
func (k *Keyring) CurrentKeyID() uint32 { return k.current }

// EnvelopeKeyID returns the key id of a sealed envelope, or false.
func EnvelopeKeyID(envelope []byte) (uint32, bool) {
	if len(envelope) < headerLen || envelope[0] != envelopeV1 {
		return 0, false
	}
	return binary.BigEndian.Uint32(envelope[1:]), true
}

// ErrNoKey is returned by KeyringFromEnv when EnvKey is not set.
var ErrNoKey = errors.New("store: " + EnvKey + " is not set")

// KeyringFromEnv reads EnvKey and EnvOldKeys. It returns ErrNoKey when EnvKey
// is unset; a malformed key is an InvalidConfig error that does not echo it.
func KeyringFromEnv() (*Keyring, error) {
	cur := strings.TrimSpace(os.Getenv(EnvKey))
	if cur == "" {
		return nil, ErrNoKey
	}
	key, err := decodeKey(EnvKey, cur)
	if err != nil {
		return nil, err
	}
	var old [][]byte
	for i, s := range strings.Split(os.Getenv(EnvOldKeys), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		o, err := decodeKey(fmt.Sprintf("%s[%d]", EnvOldKeys, i), s)
		if err != nil {
			return nil, err
		}
		old = append(old, o)
	}
	return NewKeyring(key, old...)
}

func decodeKey(name, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != keySizeAES {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "keyring",
			Msg: name + " must be 32 bytes in base64 (make one with: head -c 32 /dev/urandom | base64)"}
	}
	return b, nil
}

// RequireKeyring returns KeyringFromEnv, or, when no key is set, an
// InvalidConfig error that tells how to set one. Shared backends
// (PostgreSQL, Redis) use it: they never invent a key.
func RequireKeyring(backend string) (*Keyring, error) {
	k, err := KeyringFromEnv()
	if errors.Is(err, ErrNoKey) {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "keyring",
			Msg: backend + " store needs an encryption key: set " + EnvKey + " to 32 random bytes in base64 (head -c 32 /dev/urandom | base64), the same on every instance"}
	}
	return k, err
}

// KeyringFor returns the Keyring that Open gives st, the one key policy of
// the module:
//
//   - CONNECTOR_ENCRYPTION_KEY (and CONNECTOR_ENCRYPTION_OLD_KEYS) when set,
//     for every store;
//   - else, for a store whose records live only as long as the process
//     (an Ephemeral() bool method that reports true: store/memory), a
//     random key drawn once per process;
//   - else, for a store in one file (a Path() string method: store/sqlite),
//     the key file beside it (KeyringForFile);
//   - else an InvalidConfig error that says how to set a key: shared
//     backends (PostgreSQL, Redis) never invent one.
func KeyringFor(st Store) (*Keyring, error) {
	return keyringFor(st, "", false)
}

// processKeys is the random Keyring of ephemeral stores.
var processKeys = sync.OnceValues(func() (*Keyring, error) { return NewKeyring(NewRandomKey()) })

func keyringFor(st Store, backend string, existing bool) (*Keyring, error) {
	k, err := KeyringFromEnv()
	if !errors.Is(err, ErrNoKey) {
		return k, err
	}
	if e, ok := st.(interface{ Ephemeral() bool }); ok && e.Ephemeral() {
		return processKeys()
	}
	if f, ok := st.(interface{ Path() string }); ok {
		if existing {
			return keyringForExistingFile(f.Path())
		}
		return KeyringForFile(f.Path())
	}
	if backend == "" {
		backend = fmt.Sprintf("%T", st)
	}
	return RequireKeyring(backend)
}

// keyringForExistingFile is KeyringForFile for OpenExisting: it creates no
// key file.
func keyringForExistingFile(dbPath string) (*Keyring, error) {
	path := filepath.Join(filepath.Dir(dbPath), keyFileName)
	data, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "keyring",
			Msg: "the sqlite store " + dbPath + " has no key file " + path + " and " + EnvKey + " is not set"}
	}
	if err != nil {
		return nil, err
	}
	key, err := decodeKey("key file "+path, strings.TrimSpace(string(data)))
	if err != nil {
		return nil, err
	}
	return NewKeyring(key)
}

// KeyringForFile returns KeyringFromEnv, or, when no key is set, the key in
// the file "connector.key" beside dbPath, creating it (mode 0600) with a
// random key on first use. The embedded SQLite backend uses it.
//
// A key file this process did not just create is trusted only if it is a
// regular file (not a symbolic link), owned by the effective user, and
// neither readable nor writable by group or others: anyone who could plant
// or read it could read the tokens. Otherwise KeyringForFile fails with an
// InvalidConfig error that names the file and the fix (chmod 600, chown), and
// never holds the key.
func KeyringForFile(dbPath string) (*Keyring, error) {
	k, err := KeyringFromEnv()
	if !errors.Is(err, ErrNoKey) {
		return k, err
	}
	path := filepath.Join(filepath.Dir(dbPath), keyFileName)
	data, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil {
			return nil, err
		}
		data, err = readKeyFile(path) // another process may have won the race
	}
	if err != nil {
		return nil, err
	}
	key, err := decodeKey("key file "+path, strings.TrimSpace(string(data)))
	if err != nil {
		return nil, err
	}
	return NewKeyring(key)
}

// maxKeyFile bounds what is read of a key file: a key in base64 is 44 bytes.
const maxKeyFile = 4096

// readKeyFile reads the key file at path through safefile.Open, which
// refuses a file that others planted or can read. A missing file is an error
// for which errors.Is(err, fs.ErrNotExist) holds.
func readKeyFile(path string) ([]byte, error) {
	f, err := safefile.Open("key file", path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, Errorf(err, "cannot read key file %s", path)
	}
	return data, nil
}

// createKeyFile writes a new random key to path unless it exists. The key is
// written and synced to a temporary file first (created with O_EXCL, mode
// 0600), then linked into place, so that a process racing this one never
// reads a half-written key file and a crash never leaves one. Whatever holds
// the name already — a key file another process won the race with, or one
// another user planted — is left for readKeyFile to check.
func createKeyFile(path string) error {
	key := base64.StdEncoding.EncodeToString(NewRandomKey()) + "\n"
	tmp, err := os.CreateTemp(filepath.Dir(path), keyFileName+".tmp-*") // O_EXCL, mode 0600
	if err != nil {
		return Errorf(err, "cannot create key file %s", path)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(key)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return Errorf(werr, "cannot write key file %s", path)
	}
	err = os.Link(tmp.Name(), path) // link(2) never follows a symbolic link at path
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	// No hard links here (some file systems): create in place.
	f, err := safefile.Create("key file", path, os.O_WRONLY)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, werr = f.WriteString(key)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return Errorf(werr, "cannot write key file %s", path)
	}
	return nil
}
