package driver

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// This file reads the members of a token answer's JSON object without
// decoding it into a map: a refresh's cost is measured against a bare POST,
// and decoding into map[string]json.RawMessage was a quarter of the engine's
// CPU per refresh. One pass both judges the body exactly as encoding/json
// does and records where each member lies; FuzzObjectMembers holds it to
// json.Unmarshal (verdict, keys and raw values) and FuzzValidJSON holds the
// value checker to json.Valid, on every input.

// span locates one member: its key (with quotes) and its raw value.
type span struct{ k0, k1, v0, v1 int }

// objectMembers iterates over the members of a JSON object.
type objectMembers struct {
	b     []byte
	n     int      // members recorded
	pos   int      // the next one to return
	small [12]span // token answers have a handful of members
	more  []span   // members past len(small)
}

// newObjectMembers checks that body is exactly one valid JSON object
// (surrounding whitespace allowed) and returns an iterator over its members;
// false when it is not.
func newObjectMembers(body []byte) (objectMembers, bool) {
	m := objectMembers{b: body}
	b := body
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return m, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return m, skipSpace(b, i+1) == len(b)
	}
	for {
		var s span
		var ok bool
		if i >= len(b) || b[i] != '"' {
			return m, false
		}
		s.k0 = i
		if i, ok = validString(b, i); !ok {
			return m, false
		}
		s.k1 = i
		if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
			return m, false
		}
		s.v0 = skipSpace(b, i+1)
		if i, ok = validValue(b, s.v0, 1); !ok {
			return m, false
		}
		s.v1 = i
		if m.n < len(m.small) {
			m.small[m.n] = s
		} else {
			m.more = append(m.more, s)
		}
		m.n++
		if i = skipSpace(b, i); i >= len(b) {
			return m, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, skipSpace(b, i+1) == len(b)
		default:
			return m, false
		}
	}
}

// next returns the next member's raw key (with its quotes) and raw value,
// or false after the last one.
func (m *objectMembers) next() (key, val []byte, ok bool) {
	if m.pos >= m.n {
		return nil, nil, false
	}
	var sp span
	if m.pos < len(m.small) {
		sp = m.small[m.pos]
	} else {
		sp = m.more[m.pos-len(m.small)]
	}
	m.pos++
	return m.b[sp.k0:sp.k1], m.b[sp.v0:sp.v1], true
}

// rewind starts the iteration over.
func (m *objectMembers) rewind() { m.pos = 0 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// rawString reads a JSON string as encoding/json does (escapes decoded,
// invalid UTF-8 replaced by U+FFFD); false for any other JSON value.
func rawString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if s := v[1 : len(v)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s), true // the bytes are the string
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err == nil
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// validValue checks the value starting at b[i] and returns the index just
// past it.
func validValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '"':
		return validString(b, i)
	case '{', '[':
		if depth++; depth > maxDepth {
			return i, false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == end {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = validString(b, i); !ok {
					return i, false
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipSpace(b, i+1)
			}
			if i, ok = validValue(b, i, depth); !ok {
				return i, false
			}
			if i = skipSpace(b, i); i >= len(b) {
				return i, false
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case end:
				return i + 1, true
			default:
				return i, false
			}
		}
	case 't':
		return validLiteral(b, i, "true")
	case 'f':
		return validLiteral(b, i, "false")
	case 'n':
		return validLiteral(b, i, "null")
	}
	return validNumber(b, i)
}

func validLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return i, false
}

// validString checks the string starting at b[i] ('"').
func validString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i++; i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i <= 4 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// validNumber checks the number starting at b[i]: -?(0|[1-9][0-9]*)
// (\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, true
}
