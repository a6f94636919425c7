package splunkhec

import (
	"context"
	"fmt"
	"net/http"
)

// Check tells whether HEC is reachable and healthy, accepts the token and,
// with ack on, has indexer acknowledgement on for it. It writes nothing:
//   - GET /services/collector/health: 200 (code 17) is healthy; 503 (codes
//     18, 19: queues full, ack service unavailable) is not.
//   - POST /services/collector/event with an empty body: Splunk checks the
//     token first, so a valid token answers 400 "No data" (code 5) and a bad
//     one 401 (codes 2, 3) or 403 (codes 1, 4). A target that checks no
//     token (VictoriaLogs) answers 200 for the empty body: that passes.
//   - with ack: POST /services/collector/ack {"acks":[0]} on the channel:
//     200 is fine, 400 code 14 means acknowledgement is off for the token.
func (o *Output) Check(ctx context.Context) error {
	r, err := o.post(ctx, http.MethodGet, pathHealth, nil, false, false)
	if err != nil {
		return fmt.Errorf("splunk HEC is not reachable: %w", err)
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("splunk HEC health check: %s", r.describe())
	}

	r, err = o.post(ctx, http.MethodPost, pathEvent, []byte{}, false, true)
	if err != nil {
		return fmt.Errorf("splunk HEC is not reachable: %w", err)
	}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return fmt.Errorf("%w (%s): check token/token_file and that the token is enabled", ErrToken, r.describe())
	case r.status == http.StatusOK:
	case r.status == http.StatusBadRequest && r.code() == 5: // "No data": the token is good
	case r.status == http.StatusBadRequest && configCode(r.code()):
		return fmt.Errorf("splunk HEC refused the request (%s)", r.describe())
	case r.status == http.StatusBadRequest:
	default:
		return fmt.Errorf("splunk HEC token check (empty POST %s): %s", pathEvent, r.describe())
	}

	if !o.cfg.Ack {
		return nil
	}
	r, err = o.post(ctx, http.MethodPost, pathAck, []byte(`{"acks":[0]}`), false, true)
	if err != nil {
		return fmt.Errorf("splunk HEC is not reachable: %w", err)
	}
	switch {
	case r.status == http.StatusOK:
		return nil
	case r.status == http.StatusBadRequest && r.code() == 14:
		return fmt.Errorf("%w (%s)", ErrAckDisabled, r.describe())
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return fmt.Errorf("%w on %s (%s)", ErrToken, pathAck, r.describe())
	case r.status == http.StatusNotFound:
		return fmt.Errorf("splunk HEC has no %s (%s): not Splunk? set ack: false", pathAck, r.describe())
	}
	return fmt.Errorf("splunk HEC ack check: %s", r.describe())
}
