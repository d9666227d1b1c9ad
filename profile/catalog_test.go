package profile_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/connector-go/connector/profile"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles schema.json.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema.json does not compile: %v", err)
	}
	return sch
}

// validateYAML validates YAML data against the schema.
func validateYAML(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// TestCatalog checks every catalog file against the Go types (Parse is
// strict: unknown fields are errors) and against schema.json, and that
// the catalog holds Jumpseller, SHOPLINE and at least seven others.
func TestCatalog(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("catalog/*.yaml")
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(f, data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := validateYAML(t, sch, data); err != nil {
			t.Errorf("%s does not validate against schema.json: %v", f, err)
		}
		names = append(names, p.Name)
	}
	var got []string
	for _, p := range profile.Catalog() {
		got = append(got, p.Name)
	}
	if d := cmp.Diff(names, got); d != "" {
		t.Errorf("Catalog() differs from the catalog directory (-files +Catalog):\n%s", d)
	}
	for _, want := range []string{"jumpseller", "shopline"} {
		if !slices.Contains(got, want) {
			t.Errorf("the catalog lacks %s", want)
		}
	}
	if len(got) < 9 {
		t.Errorf("the catalog holds %d profiles, want Jumpseller, SHOPLINE and at least seven more", len(got))
	}
}

// TestSchemaMatchesTypes: schema.json names exactly the fields of the Go
// types, section by section, so that editors and the loader agree.
func TestSchemaMatchesTypes(t *testing.T) {
	raw, _ := os.ReadFile("schema.json")
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, s map[string]any, typ reflect.Type)
	walk = func(path string, s map[string]any, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := s["items"].(map[string]any); ok {
				s = items
			}
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		props, _ := s["properties"].(map[string]any)
		var inSchema, inGo []string
		for k := range props {
			inSchema = append(inSchema, k)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || tag == "" {
				continue
			}
			inGo = append(inGo, tag)
			sub, _ := props[tag].(map[string]any)
			walk(path+"."+tag, sub, f.Type)
		}
		slices.Sort(inSchema)
		slices.Sort(inGo)
		if d := cmp.Diff(inGo, inSchema); d != "" {
			t.Errorf("%s: fields (-Go +schema.json):\n%s", path, d)
		}
		if s["additionalProperties"] != false {
			t.Errorf("%s: schema.json allows additional properties; the loader does not", path)
		}
	}
	walk("$", schema, reflect.TypeFor[profile.Profile]())
}

// TestSchemaRefuses: documents the loader refuses for their shape are
// refused by the schema too.
func TestSchemaRefuses(t *testing.T) {
	sch := compileSchema(t)
	good, _ := os.ReadFile("catalog/jumpseller.yaml")
	cases := []struct{ name, from, to string }{
		{"UnknownField", "display_name: Jumpseller", "display_name: Jumpseller\ncolour: blue"},
		{"BadFormat", "format: form ", "format: xml "},
		{"BadTokenType", "token_type: bearer", "token_type: mac"},
		{"NoProbe", "  probe: store/info.json\n", ""},
		{"HTTPEndpoint", "https://accounts.jumpseller.com/oauth/token", "http://accounts.jumpseller.com/oauth/token"},
		{"BadDuration", "lifetime: 1h", "lifetime: an hour"},
		{"UnverifiedWithoutNote", "verified: false\n    note: >-", "verified: false\n    says: >-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(data, good) {
				t.Fatalf("the case does not change the profile")
			}
			if err := validateYAML(t, sch, data); err == nil {
				t.Error("schema.json accepts it")
			}
			if _, err := profile.Parse("jumpseller.yaml", data); err == nil {
				t.Error("Parse accepts it")
			}
		})
	}
}
