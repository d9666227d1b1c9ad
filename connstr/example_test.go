package connstr_test

import (
	"errors"
	"fmt"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
)

func ExampleParse() {
	p, err := connstr.Parse("Provider=jumpseller; InitiateOAuth=GETANDREFRESH; OAuthClientId=my_id; " +
		"OAuthClientSecret=my_secret; CallbackURL=http://localhost:8000/callback; Scope=read_orders read_store")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Provider, p.InitiateOAuth, p.Scopes, p.Timeout)
	fmt.Println(p)
	// Output:
	// jumpseller GETANDREFRESH [read_orders read_store] 30s
	// Provider=jumpseller;InitiateOAuth=GETANDREFRESH;OAuthClientId=my_id;OAuthClientSecret=[redacted];CallbackURL=http://localhost:8000/callback;Scope=read_orders read_store;
}

func ExampleParse_error() {
	_, err := connstr.Parse("Provider=shopline;OAuthClientID2=abc")
	fmt.Println(err)
	fmt.Println(driver.CodeOf(err))

	_, err = connstr.Parse(`Provider=shopline;OAuthClientSecret="abc;def`)
	fmt.Println(err)
	// Output:
	// connector: connection string: unknown property "OAuthClientID2" at position 19; did you mean "OAuthClientId"?
	// invalid_config
	// connector: connection string: unterminated quote in the value of OAuthClientSecret at position 37
}

func ExampleParams_Validate() {
	p, err := connstr.Parse("Provider=jumpseller;AuthScheme=Basic;InitiateOAuth=REFRESH")
	if err != nil {
		fmt.Println(err)
		return
	}
	err = p.Validate()
	var e *driver.Error
	fmt.Println(errors.As(err, &e), e.Code)
	fmt.Println(err)
	// Output:
	// true invalid_config
	// connector: connection string: AuthScheme "Basic" is not supported by the oauth drivers; use OAuth; OAuthClientId and OAuthClientSecret are required when InitiateOAuth is REFRESH
}

func ExampleParams_String() {
	p, _ := connstr.Parse(`provider=shopline;oauthrefreshtoken=rt;OAuthSettingsLocation=postgres://app:hunter2@db.example.com/connector;Profile="a;b"`)
	fmt.Println(p.String())
	fmt.Println(p.EncodeWithSecrets())
	// Output:
	// Provider=shopline;OAuthRefreshToken=[redacted];OAuthSettingsLocation=postgres://app:[redacted]@db.example.com/connector;Profile="a;b";
	// Provider=shopline;OAuthRefreshToken=rt;OAuthSettingsLocation=postgres://app:hunter2@db.example.com/connector;Profile="a;b";
}

func ExampleParams_Has() {
	p, _ := connstr.Parse("Provider=jumpseller")
	fmt.Println(p.AuthScheme, p.Has("AuthScheme"), p.Has("provider"))
	// Output:
	// OAuth false true
}
