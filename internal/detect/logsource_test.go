package detect

import (
	"fmt"
	"testing"
)

// The default logsources read the access log as Sigma's proxy category:
// category proxy alone (SigmaHQ's generic proxy rules), category proxy of
// product broadcom_wss (the pack's proxy rules), and product broadcom_wss
// service access all mean event.dataset wss.access, and only that; the
// audit logsource stays wss.audit only.
func TestDefaultLogsourcesReadAccessAsProxy(t *testing.T) {
	audit := []byte(`{"event":{"dataset":"wss.audit","action":"TCP_DENIED"}}`)
	access := []byte(`{"event":{"dataset":"wss.access","action":"TCP_DENIED"}}`)
	for i, tc := range []struct {
		logsource         string
		onAudit, onAccess int
	}{
		{"category: proxy", 0, 1},
		{"category: proxy\n    product: broadcom_wss", 0, 1},
		{"product: broadcom_wss\n    service: access", 0, 1},
		{"product: broadcom_wss\n    service: audit", 1, 0},
	} {
		t.Run(tc.logsource, func(t *testing.T) {
			id := fmt.Sprintf("11111111-2222-4333-8444-%012d", i)
			yml := fmt.Sprintf("title: t\nid: %s\nlogsource:\n    %s\ndetection:\n    s:\n        event.action: TCP_DENIED\n    condition: s\n", id, tc.logsource)
			rs, err := ParseFile("x.yml", []byte(yml))
			if err != nil {
				t.Fatal(err)
			}
			e, err := New(rs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(e.Evaluate(audit, t0, "a")); got != tc.onAudit {
				t.Errorf("audit event: %d alerts, want %d", got, tc.onAudit)
			}
			if got := len(e.Evaluate(access, t0, "b")); got != tc.onAccess {
				t.Errorf("access event: %d alerts, want %d", got, tc.onAccess)
			}
		})
	}
	// A product the engine does not read is still refused: the proxy
	// category is not a wildcard for any logsource.
	rs, _ := ParseFile("x.yml", []byte("title: t\nid: 11111111-2222-4333-8444-999999999999\nlogsource:\n    category: proxy\n    product: zscaler\ndetection:\n    s:\n        event.action: x\n    condition: s\n"))
	if _, err := New(rs, Options{}); err == nil {
		t.Error("category proxy of product zscaler loaded")
	}
}
