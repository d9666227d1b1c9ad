package providertest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRecord(t *testing.T) {
	rec := Record(t, func(path string) string { return `{"path":"` + path + `"}` })
	form, _ := http.NewRequest(http.MethodPost, rec.URL+"/form", strings.NewReader(url.Values{"a": {"1", "2"}, "b": {"x"}}.Encode()))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form.Header.Set("Accept", "application/json")
	form.SetBasicAuth("id", "secret")
	js, _ := http.NewRequest(http.MethodPut, rec.URL+"/json", strings.NewReader(`{"c":"3"}`))
	js.Header.Set("Content-Type", "application/json; charset=utf-8")
	for _, req := range []*http.Request{form, js} {
		resp, err := rec.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: answer Content-Type %q", req.URL.Path, ct)
		}
	}
	rec.Expect(t,
		Request{Method: "POST", Path: "/form", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
			Basic: []string{"id", "secret"}, Params: map[string]string{"a": "1", "b": "x"}},
		Request{Method: "PUT", Path: "/json", ContentType: "application/json", Params: map[string]string{"c": "3"}},
	)
}
