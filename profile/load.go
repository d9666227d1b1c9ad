package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/connector-go/connector/driver"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxSize is the largest profile file Parse reads.
const MaxSize = 1 << 20

// DocsPath is where the profile format is documented.
const DocsPath = "docs/profiles.md"

// FieldError says where a profile is wrong. Load and Parse return it
// inside an *driver.Error with Code InvalidConfig:
//
//	var fe *profile.FieldError
//	if errors.As(err, &fe) { … fe.File, fe.Line, fe.Field … }
type FieldError struct {
	File  string // the file name given to Parse or Load
	Line  int    // 1-based; 0 when the error is not tied to a line
	Field string // the field's path ("endpoints.token", "sources[2].url"); empty for the whole file
	Msg   string // what is wrong, lower-case
}

// Error returns "file:line: field: msg".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// invalid wraps a FieldError as the module's error.
func invalid(fe *FieldError) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "profile", Msg: "invalid profile", Err: fe}
}

// IsAPIP reports whether name is a CData API Profile (.apip), which this
// package does not read.
func IsAPIP(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".apip")
}

// RefuseAPIP returns the error for a CData API Profile (.apip): an
// *driver.Error with Code InvalidConfig saying that CData API Profiles are
// not read and pointing at docs/profiles.md. It returns nil for any other
// name.
func RefuseAPIP(name string) error {
	if !IsAPIP(name) {
		return nil
	}
	return &driver.Error{Code: driver.InvalidConfig, Op: "profile",
		Msg: quote(baseName(name)) + " is a CData API Profile (.apip); CData API Profiles are not read: " +
			"describe the provider in a YAML profile instead (see " + DocsPath + ")"}
}

// baseName is the last element of a path with '/' or '\' separators (a
// Windows path in a connection string, on any system).
func baseName(name string) string {
	return name[strings.LastIndexAny(name, `/\`)+1:]
}

// Load reads and validates the profile in the file at path. A .apip
// file is refused (RefuseAPIP); a wrong profile is an *driver.Error with
// Code InvalidConfig whose *FieldError names the file, the line and the
// field.
func Load(path string) (*Profile, error) {
	if err := RefuseAPIP(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "profile", Msg: "cannot read the profile", Err: err}
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxSize+1)); err != nil {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "profile", Msg: "cannot read the profile", Err: err}
	}
	return Parse(path, buf.Bytes())
}

// Parse validates the profile data read from the file called name (used
// in errors only). Errors are as Load's.
func Parse(name string, data []byte) (p *Profile, err error) {
	if err := RefuseAPIP(name); err != nil {
		return nil, err
	}
	fail := func(line int, field, msg string) error {
		return invalid(&FieldError{File: name, Line: line, Field: field, Msg: msg})
	}
	switch {
	case len(data) > MaxSize:
		return nil, fail(0, "", "larger than 1 MiB")
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		// A CData .apip is a zip archive; refuse it under any name.
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "profile",
			Msg: quote(baseName(name)) + " is a zip archive, as CData API Profiles (.apip) are; CData API Profiles are not read: " +
				"describe the provider in a YAML profile instead (see " + DocsPath + ")"}
	case len(bytes.TrimSpace(data)) == 0:
		return nil, fail(0, "", "is empty")
	}
	// The YAML library has panicked on malformed input in the past
	// (FuzzParse hunts for that): a panic is a refused profile, not a
	// crashed process.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fail(0, "", fmt.Sprintf("is not YAML the parser can read (%v)", r))
		}
	}()
	file, perr := parser.ParseBytes(data, 0)
	if perr != nil {
		return nil, fail(tokenLine(perr), "", "is not valid YAML: "+yamlMessage(perr))
	}
	var docs []*ast.DocumentNode
	for _, d := range file.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, fail(0, "", "holds no YAML document")
	case len(docs) > 1:
		return nil, fail(lineOf(docs[1]), "", "holds more than one YAML document")
	}
	body := docs[0].Body
	pos := &positions{lines: map[string]int{}}
	if err := pos.walk(body, ""); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = name
		}
		return nil, invalid(fe)
	}
	if _, ok := body.(*ast.MappingNode); !ok {
		if _, ok := body.(*ast.MappingValueNode); !ok {
			return nil, fail(lineOf(body), "", "is not a YAML mapping of the profile's fields")
		}
	}
	p = &Profile{file: name, lines: pos.lines}
	if err := yaml.NodeToValue(body, p, yaml.DisallowUnknownField()); err != nil {
		line := tokenLine(err)
		field := pos.fieldAt(err)
		return nil, fail(line, field, decodeMessage(err))
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// positions records where each field is, by path.
type positions struct {
	lines map[string]int
	at    []posEntry // every key and value token, for decode errors
}

type posEntry struct {
	line, col int
	path      string
}

// walk records the line of every key under n, and refuses what a profile
// never needs: anchors, aliases, tags and complex keys (an alias could
// also expand a small file into a huge value).
func (ps *positions) walk(n ast.Node, path string) error {
	if n == nil {
		return nil
	}
	refuse := func(what string) error {
		return &FieldError{Line: lineOf(n), Field: path, Msg: what + " are not allowed in a profile"}
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if err := ps.walk(mv, path); err != nil {
				return err
			}
		}
	case *ast.MappingValueNode:
		key, ok := n.Key.(*ast.StringNode)
		if !ok {
			if _, plain := n.Key.(*ast.MappingKeyNode); plain {
				return refuse("complex keys (?)")
			}
			kt := n.Key.GetToken()
			if kt == nil {
				return refuse("keys that are not strings")
			}
			return &FieldError{Line: lineOf(n.Key), Field: path, Msg: "key " + quote(kt.Value) + " is not a string"}
		}
		p := key.Value
		if path != "" {
			p = path + "." + key.Value
		}
		if _, dup := ps.lines[p]; !dup {
			ps.lines[p] = lineOf(n.Key)
		}
		ps.note(n.Key.GetToken(), p)
		ps.note(n.Value.GetToken(), p)
		return ps.walk(n.Value, p)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			ps.lines[p] = lineOf(v)
			ps.note(v.GetToken(), p)
			if err := ps.walk(v, p); err != nil {
				return err
			}
		}
	case *ast.AnchorNode:
		return refuse("anchors (&)")
	case *ast.AliasNode:
		return refuse("aliases (*)")
	case *ast.TagNode:
		return refuse("tags (!)")
	case *ast.MappingKeyNode:
		return refuse("complex keys (?)")
	}
	return nil
}

func (ps *positions) note(tk *token.Token, path string) {
	if tk == nil || tk.Position == nil {
		return
	}
	ps.at = append(ps.at, posEntry{tk.Position.Line, tk.Position.Column, path})
}

// fieldAt names the field a decode error points at: the path of the key
// or value at the error's token, else the last field on its line.
func (ps *positions) fieldAt(err error) string {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		return ""
	}
	p := ye.GetToken().Position
	best := ""
	for _, e := range ps.at {
		if e.line == p.Line && e.col == p.Column {
			return e.path
		}
		if e.line == p.Line {
			best = e.path
		}
	}
	return best
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func tokenLine(err error) int {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		return ye.GetToken().Position.Line
	}
	return 0
}

// yamlMessage is the library's message without its position prefix or
// source excerpt.
func yamlMessage(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return ye.GetMessage()
	}
	return err.Error()
}

// decodeMessage words a decode error for a profile's author.
func decodeMessage(err error) string {
	var uf *yaml.UnknownFieldError
	if errors.As(err, &uf) {
		return strings.TrimPrefix(uf.Message, "unknown field ") + " is not a field of this section (see " + DocsPath + ")"
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return "has the wrong type: want " + kindName(te.DstType.String()) + ", got " + kindName(te.SrcType.String())
	}
	var dk *yaml.DuplicateKeyError
	if errors.As(err, &dk) {
		return "duplicate key: " + dk.Message
	}
	return yamlMessage(err)
}

func kindName(t string) string {
	switch {
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "profile."), strings.HasPrefix(t, "*profile."):
		return "a mapping"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "uint64", t == "int64", t == "float64", t == "int":
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return "a " + t
}
