package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// ErrNotWritable is wrapped by Check's error when the cluster answers and
// accepts the credentials, but the index cannot be written: a missing
// privilege, or a write block (a full disk sets read_only_allow_delete).
var ErrNotWritable = errors.New("elasticsearch index not writable")

// Check tells whether the cluster is reachable and is Elasticsearch, the
// credentials work, they may write the index, and the index has no write
// block. It writes nothing. The index checked is today's (date patterns)
// or the configured one. A cluster without security (or an
// Elasticsearch-compatible target without the security API) passes on
// reachability alone.
func (o *Output) Check(ctx context.Context) error {
	if err := o.checkInfo(ctx); err != nil {
		return err
	}
	user, secured, err := o.checkAuth(ctx)
	if err != nil || !secured {
		return err
	}
	index := o.index.name(time.Now())
	if err := o.checkPrivileges(ctx, user, index); err != nil {
		return err
	}
	return o.checkBlocks(ctx, index)
}

// get runs one request and returns its status and (small) body.
func (o *Output) get(ctx context.Context, req interface {
	Do(context.Context, esapi.Transport) (*esapi.Response, error)
}) (int, []byte, error) {
	status, raw, _, err := o.getWithHeader(ctx, req)
	return status, raw, err
}

func (o *Output) getWithHeader(ctx context.Context, req interface {
	Do(context.Context, esapi.Transport) (*esapi.Response, error)
}) (int, []byte, http.Header, error) {
	rctx, cancel := o.requestCtx(ctx)
	defer cancel()
	res, err := req.Do(rctx, o.client)
	if err != nil {
		return 0, nil, nil, err
	}
	h := res.Header
	status, raw := drain(res)
	return status, raw, h, nil
}

func (o *Output) checkInfo(ctx context.Context) error {
	status, raw, header, err := o.getWithHeader(ctx, esapi.InfoRequest{})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) {
			return fmt.Errorf("elasticsearch is not reachable: %w", err)
		}
		return fmt.Errorf("elasticsearch info request (GET /): %w", err)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return authError(status, errorReason(raw))
	case status < 200 || status > 299:
		return fmt.Errorf("elasticsearch info request answered HTTP %d: %s", status, errorReason(raw))
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.Version.Number == "" {
		return fmt.Errorf("the info reply names no version: not Elasticsearch? %.200q", raw)
	}
	major, _, _ := strings.Cut(info.Version.Number, ".")
	if atoi(major) < 7 {
		return fmt.Errorf("elasticsearch %s is too old: 7.x or later is needed", info.Version.Number)
	}
	// Elasticsearch 7.14 and later name themselves in every answer; the
	// same check the official client makes before its first request, here
	// only in check: writes go to any server that speaks the bulk API.
	if atoi(major) >= 8 && header.Get("X-Elastic-Product") != "Elasticsearch" {
		return fmt.Errorf("the server answers as version %s but is not Elasticsearch (no X-Elastic-Product: Elasticsearch header); bulk writes may still work against a compatible server", info.Version.Number)
	}
	return nil
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// checkAuth asks who the credentials are. secured is false when the
// cluster has no security to ask.
func (o *Output) checkAuth(ctx context.Context) (user string, secured bool, err error) {
	status, raw, err := o.get(ctx, esapi.SecurityAuthenticateRequest{})
	if err != nil {
		return "", false, fmt.Errorf("elasticsearch is not reachable: %w", err)
	}
	switch {
	case status == http.StatusOK:
		var who struct {
			Username string `json:"username"`
		}
		_ = json.Unmarshal(raw, &who)
		return who.Username, true, nil
	case status == http.StatusUnauthorized:
		return "", false, authError(status, errorReason(raw))
	case securityOff(status, raw):
		return "", false, nil
	}
	return "", false, fmt.Errorf("checking the credentials: HTTP %d: %s", status, errorReason(raw))
}

// securityOff recognizes a cluster with security disabled (HTTP 500,
// "Security must be explicitly enabled ...") and targets that do not have
// the security API at all (404, or a reply that is not an Elasticsearch
// error object, like VictoriaLogs' 400 "unsupported path").
func securityOff(status int, raw []byte) bool {
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusGone {
		return true
	}
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.Error) == 0 {
		return status >= 400 && status < 500
	}
	reason := strings.ToLower(errorReason(raw))
	return strings.Contains(reason, "security must be explicitly enabled") ||
		strings.Contains(reason, "security is not enabled") ||
		strings.Contains(reason, "security is disabled")
}

func (o *Output) checkPrivileges(ctx context.Context, user, index string) error {
	privs := []string{"create_doc"}
	if !o.index.static() || o.cfg.Setup.dataStream() {
		// A new day's index or the data stream's first backing index is
		// created by the first write to it.
		privs = append(privs, "auto_configure")
	}
	req := map[string]any{"index": []map[string]any{{"names": []string{index}, "privileges": privs}}}
	if o.cfg.Setup.Template {
		req["cluster"] = []string{"manage_index_templates", "manage_pipeline"}
	}
	body, _ := json.Marshal(req)
	status, raw, err := o.get(ctx, esapi.SecurityHasPrivilegesRequest{Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("elasticsearch is not reachable: %w", err)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return authError(status, errorReason(raw))
	case status != http.StatusOK:
		return fmt.Errorf("checking the privileges: HTTP %d: %s", status, errorReason(raw))
	}
	var r struct {
		HasAll  bool                       `json:"has_all_requested"`
		Cluster map[string]bool            `json:"cluster"`
		Index   map[string]map[string]bool `json:"index"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("checking the privileges: %v", err)
	}
	if r.HasAll {
		return nil
	}
	var missing []string
	for p, ok := range r.Cluster {
		if !ok {
			missing = append(missing, "cluster privilege "+p+" (for setup.template)")
		}
	}
	for name, ps := range r.Index {
		for p, ok := range ps {
			if !ok {
				missing = append(missing, p+" on "+name)
			}
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("%w: user %q lacks %s", ErrNotWritable, user, strings.Join(missing, ", "))
}

// checkBlocks reads the index's write blocks. A user allowed to write but
// not to read settings (a common writer role) cannot see them: that is not
// an error.
func (o *Output) checkBlocks(ctx context.Context, index string) error {
	yes := true
	status, raw, err := o.get(ctx, esapi.IndicesGetSettingsRequest{
		Index:             []string{index},
		Name:              []string{"index.blocks.*"},
		FlatSettings:      &yes,
		IgnoreUnavailable: &yes,
		AllowNoIndices:    &yes,
	})
	if err != nil {
		return fmt.Errorf("elasticsearch is not reachable: %w", err)
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden:
		return nil // not created yet, or not ours to see
	default:
		return fmt.Errorf("reading the settings of %s: HTTP %d: %s", index, status, errorReason(raw))
	}
	var r map[string]struct {
		Settings map[string]any `json:"settings"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("reading the settings of %s: %v", index, err)
	}
	var blocked []string
	for name, s := range r {
		for _, b := range []string{"index.blocks.write", "index.blocks.read_only", "index.blocks.read_only_allow_delete"} {
			if v, ok := s.Settings[b]; ok && fmt.Sprint(v) == "true" {
				blocked = append(blocked, name+" has "+b)
			}
		}
	}
	if len(blocked) > 0 {
		sort.Strings(blocked)
		return fmt.Errorf("%w: %s (a full disk sets read_only_allow_delete)", ErrNotWritable, strings.Join(blocked, ", "))
	}
	return nil
}
