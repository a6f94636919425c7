package outputs

import (
	"net/url"
	"strings"
	"testing"
)

func TestURLProblemHidesTheValue(t *testing.T) {
	for _, raw := range []string{
		"http://user:s3cret@[bad",
		"http://user:s3cret@host/%zzs3cret",
		"http://user:s3cret/path", // no host: the "port" is the password
		"http://us er:s3cret@host",
		"http://host\x7fs3cret",
	} {
		_, err := url.Parse(raw)
		if err == nil {
			t.Fatalf("%q parsed", raw)
		}
		got := URLProblem(err)
		if strings.Contains(got, "s3cret") || strings.Contains(got, "us er") {
			t.Errorf("%q: %s", raw, got)
		}
		if !strings.Contains(got, "value hidden") {
			t.Errorf("%q: %s", raw, got)
		}
	}
}

func TestShowURLStripsCredentials(t *testing.T) {
	cases := map[string]string{
		"https://user:s3cret@es.example:9200/prefix?apikey=s3cret#s3cret": "https://es.example:9200/prefix",
		"user:s3cret@es.example": "user:[hidden]",
		"ftp://es.example":       "ftp://es.example",
		"not a url":              "not a url",
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := ShowURL(u); got != want {
			t.Errorf("%q: got %q, want %q", raw, got, want)
		}
	}
}
