package wss

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-very-secret"
	s := Secret(pw)
	if s.Value() != pw {
		t.Fatal("Value lost the secret")
	}
	cfg := Config{BaseURL: "https://x", Username: "u", Password: s}
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out = append(out, fmt.Sprintf(f, s), fmt.Sprintf(f, cfg), fmt.Sprintf(f, &cfg))
	}
	out = append(out, s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(s))
	j, _ := json.Marshal(cfg)
	txt, _ := s.MarshalText()
	var sb strings.Builder
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "pw", s, "cfg", cfg)
	out = append(out, string(j), string(txt), sb.String())
	for _, o := range out {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if got := s.String(); got != "[REDACTED]" {
		t.Errorf("String() = %q", got)
	}
	if got := s.GoString(); got != "[REDACTED]" {
		t.Errorf("GoString() = %q", got)
	}
	if string(j) == "" || !strings.Contains(string(j), `"Password":"[REDACTED]"`) {
		t.Errorf("json = %s", j)
	}
	// Loading a config still works: Secret decodes as a plain string.
	var back Config
	if err := json.Unmarshal([]byte(`{"Password":"`+pw+`"}`), &back); err != nil || back.Password.Value() != pw {
		t.Errorf("unmarshal: %v %q", err, back.Password.Value())
	}
}
