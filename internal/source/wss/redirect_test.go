package wss

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A server on another origin (another port of the same IP, another host)
// must never see the credential, and its records must never be taken as
// audit data.
func TestRedirectToAnotherOriginIsRefused(t *testing.T) {
	var hits, authed atomic.Int32
	other := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			authed.Add(1)
		}
		io.WriteString(w, `[{"timestamp":"2026-11-24T10:00:00Z","userName":"mallory"}]`)
	})
	for _, tc := range []struct{ name, target string }{
		{"other port", other.URL + "/api/rest/audit/download"},
		{"other host", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/x"},
		{"https to http", other.URL + "/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srvURL string
			var hc *http.Client
			h := func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, tc.target, http.StatusFound) }
			if tc.name == "https to http" {
				srv := serveTLS(t, h)
				srvURL, hc = srv.URL, srv.Client()
			} else {
				srvURL = serve(t, h).URL
			}
			recs, n, err := collect(t, newTestClient(t, testConfig(srvURL), hc))
			var re *RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RedirectError", err)
			}
			if !strings.Contains(err.Error(), strings.SplitN(tc.target, "/x", 2)[0]) {
				t.Errorf("error does not name the target %s: %v", tc.target, err)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("error holds the password: %v", err)
			}
			if Retryable(err) {
				t.Error("a cross-origin redirect is retryable; it needs an operator")
			}
			if n != 0 || len(recs) != 0 {
				t.Errorf("records from the other origin ingested: %d %v", n, recs)
			}
		})
	}
	if hits.Load() != 0 || authed.Load() != 0 {
		t.Fatalf("the other origin got %d requests, %d with credentials", hits.Load(), authed.Load())
	}
}

// A redirect inside the same origin is followed, without the credential.
func TestRedirectSameOriginDropsCredential(t *testing.T) {
	var authOnTarget atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			if r.Header.Get("Authorization") != "" {
				authOnTarget.Add(1)
			}
			io.WriteString(w, `[{"timestamp":"2026-11-24T10:00:00Z"}]`)
			return
		}
		http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
	})
	recs, _, err := collect(t, newTestClient(t, testConfig(srv.URL), nil))
	if err != nil || len(recs) != 1 {
		t.Fatalf("recs %v err %v", recs, err)
	}
	if authOnTarget.Load() != 0 {
		t.Fatal("the credential followed the redirect")
	}
}

func serveTLS(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}
