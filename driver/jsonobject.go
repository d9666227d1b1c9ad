package driver

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// This file reads the members of a token answer's JSON object without
// decoding it into a map: a refresh's cost is measured against a bare POST,
// and decoding into map[string]json.RawMessage was a quarter of the engine's
// CPU per refresh. encoding/json still decides what is valid (json.Valid);
// the scanner below only splits an object already known to be valid, so it
// never has to judge malformed input. FuzzObjectMembers checks that it reads
// every valid object exactly as json.Unmarshal does.

// objectMembers iterates over the members of a JSON object.
type objectMembers struct {
	b []byte
	i int
}

// newObjectMembers returns an iterator over the members of the JSON object
// in body, or false when body is not exactly one valid JSON object
// (surrounding whitespace allowed).
func newObjectMembers(body []byte) (objectMembers, bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' || !json.Valid(body) {
		return objectMembers{}, false
	}
	return objectMembers{b: body, i: i + 1}, true
}

// next returns the next member's raw key (with its quotes) and raw value,
// or false after the last one.
func (m *objectMembers) next() (key, val []byte, ok bool) {
	b := m.b
	i := skipSpace(b, m.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false // '}': the end
	}
	end := endOfString(b, i)
	key = b[i:end]
	i = skipSpace(b, end)
	i = skipSpace(b, i+1) // past ':'
	end = endOfValue(b, i)
	m.i = end
	return key, b[i:end], true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// endOfString returns the index just past the string that starts at b[i].
func endOfString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// endOfValue returns the index just past the value that starts at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = endOfString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
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
