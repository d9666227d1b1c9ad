package driver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// members reads body with objectMembers into a map, the last of duplicate
// keys winning, as json.Unmarshal does.
func members(body []byte) (map[string]string, bool) {
	m, ok := newObjectMembers(body)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for k, v, more := m.next(); more; k, v, more = m.next() {
		key, ok := rawString(k)
		if !ok {
			return nil, false
		}
		out[key] = string(v)
	}
	return out, true
}

// reference is what encoding/json reads from body.
func reference(body []byte) (map[string]string, bool) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil || raw == nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range raw {
		out[k] = string(v)
	}
	return out, true
}

func TestObjectMembers(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{"empty object", `{}`},
		{"spaces everywhere", " \t\r\n{ \"a\" : 1 , \"b\"\n:\t\"x\" } \n"},
		{"nested values", `{"a":{"b":[1,{"c":"}"}],"d":"]"},"e":[],"f":{}}`},
		{"escaped quotes and backslashes", `{"a\"b":"c\\","d":"\\\"","e\\":"\u0041"}`},
		{"literals and numbers", `{"t":true,"f":false,"n":null,"i":-1.5e+3,"z":0}`},
		{"duplicate keys: the last wins", `{"a":1,"a":2,"b":3,"a":"x"}`},
		{"escaped key", `{"access\u005ftoken":"x"}`},
		{"invalid UTF-8 in a key", "{\"a\xff\":1}"},
		{"not an object", `[1,2]`},
		{"null", `null`},
		{"trailing data", `{"a":1} {"b":2}`},
		{"trailing comma", `{"a":1,}`},
		{"cut off", `{"a":"b`},
		{"empty", ``},
		{"more members than the inline spans", `{` + strings.TrimSuffix(strings.Repeat(`"k":0,"l":[1],"m":"x",`, 6), ",") + `,"last":true}`},
		{"twenty distinct members", func() string {
			var b strings.Builder
			b.WriteString("{")
			for i := range 20 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"k%d":%d`, i, i)
			}
			return b.String() + "}"
		}()},
		{"nesting at encoding/json's limit", `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`},
		{"nesting past encoding/json's limit", `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantOK := reference([]byte(tc.body))
			got, gotOK := members([]byte(tc.body))
			if gotOK != wantOK {
				t.Fatalf("ok = %v, encoding/json says %v", gotOK, wantOK)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("members differ from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzObjectMembers checks that objectMembers reads every input exactly as
// json.Unmarshal into map[string]json.RawMessage does: the same verdict, the
// same keys (unescaped) and the same raw values.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,"]"]},"c":"\"}"}`, ` {"x" : null , "x":"\u00e9"} `,
		`{"access_token":"t","token_type":"bearer","expires_in":3600,"created_at":1502473092}`, "{\"\xff\":\"\xfe\"}", `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantOK := reference(body)
		got, gotOK := members(body)
		if gotOK != wantOK {
			t.Fatalf("ok = %v, encoding/json says %v", gotOK, wantOK)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("members differ from encoding/json (-want +got):\n%s", diff)
		}
		m, ok := newObjectMembers(body)
		if !ok {
			return
		}
		for _, v, more := m.next(); more; _, v, more = m.next() {
			var ref string
			if v[0] == '"' && json.Unmarshal(v, &ref) == nil {
				if s, ok := rawString(v); !ok || s != ref {
					t.Errorf("rawString(%q) = %q, %v; encoding/json reads %q", v, s, ok, ref)
				}
			}
		}
	})
}

// validJSON is json.Valid built on validValue, the checker newObjectMembers
// runs on every member's value.
func validJSON(b []byte) bool {
	i, ok := validValue(b, skipSpace(b, 0), 0)
	return ok && skipSpace(b, i) == len(b)
}

func TestValidJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"token answer", `{"access_token":"a","token_type":"bearer","expires_in":3600,"created_at":1502473092}`},
		{"every literal", `[true,false,null]`},
		{"numbers", `[0,-0,1,-12.5e+10,3E-2,0.0]`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"dot without digits", `1.`},
		{"exponent without digits", `1e+`},
		{"plus sign", `+1`},
		{"escapes", `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"control character", "\"a\x01b\""},
		{"invalid UTF-8 is accepted", "\"\xff\xfe\""},
		{"truncated literal", `tru`},
		{"literal with tail", `nulls`},
		{"two values", `1 2`},
		{"trailing comma in array", `[1,]`},
		{"missing colon", `{"a" 1}`},
		{"number key", `{1:2}`},
		{"whitespace around", " \t\n\r{} \n"},
		{"only whitespace", "  "},
		{"empty", ""},
		{"depth 10000", deep(10000)},
		{"depth 10001", deep(10001)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := validJSON([]byte(tc.in)), json.Valid([]byte(tc.in)); got != want {
				t.Errorf("validJSON = %v, json.Valid = %v", got, want)
			}
		})
	}
}

// FuzzValidJSON holds validJSON to json.Valid on every input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e-3,true,null,{"b":"\u00e9"}]}`, `[01]`, `"\u12"`, "\"\x1f\"", `-0.0E+1`, ` 1 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}
