package testpeer

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

var (
	// Users are the admins Record takes turns with.
	Users    = []string{"jane.admin@example.com", "ops-bot@example.com", "sec.lead@example.com", "helpdesk@example.com"}
	testOps  = []string{"Create", "Update", "Delete", "Login", "Execute", "Disable"}
	testObjs = []string{"PolicyRule", "Report", "Agent", "Session", "Location", "ApiCredential"}
)

// Record is a realistic WSS audit record, different for every i; its
// objectName is objectName (a format with one %d for i).
func Record(i int, at time.Time, objectName string) []byte {
	name := fmt.Sprintf(objectName, i)
	return fmt.Appendf(nil, `{"id":"rec-%06d","timestamp":%q,"userName":%q,"sourceIp":"203.0.%d.%d",`+
		`"objectType":%q,"objectName":%q,"operationType":%q,"status":"Success",`+
		`"description":"%s %s 'object %d'","tenantId":"t-48213","sessionId":"s-%08x","details":{"position":%d}}`,
		i, at.UTC().Format(time.RFC3339Nano), Users[i%len(Users)], (i/250)%256, i%250+1,
		testObjs[i%len(testObjs)], name, testOps[i%len(testOps)], testOps[i%len(testOps)], testObjs[i%len(testObjs)], i, i*2654435761, i%100)
}

// Events maps n Records through the real event package, the i-th at
// start + i*step.
func Events(tb testing.TB, n int, start time.Time, step time.Duration, objectName string) []event.Event {
	tb.Helper()
	m := event.NewMapper(event.Fields{}, "tenant-a")
	ingested := start.Add(time.Duration(n)*step + time.Hour)
	evs := make([]event.Event, n)
	for i := range evs {
		p, err := event.Parse(Record(i, start.Add(time.Duration(i)*step), objectName))
		if err != nil {
			tb.Fatal(err)
		}
		if evs[i], err = m.Map(&p, ingested); err != nil {
			tb.Fatal(err)
		}
	}
	return evs
}
