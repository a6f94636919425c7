package elasticsearch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeES is a stand-in for the error paths a real server will not produce
// on demand. It answers as Elasticsearch 8 does: the X-Elastic-Product
// header on every reply (go-elasticsearch refuses a 2xx without it), the
// GET / info document, bulk replies with took/errors/items and per-item
// status and error{type,reason,caused_by}, filter_path, 413 with an empty
// body, and the security_exception of a 401. Shapes follow the
// Elasticsearch reference (docs-bulk, security-api-authenticate,
// security-api-has-privileges, indices-get-settings).
type fakeES struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	docs      map[string][]byte // "_index/_id" -> document
	bulks     []*bulkCall
	requests  []string // "METHOD /path"
	templates map[string][]byte
	pipelines map[string][]byte // ingest pipelines, by id

	// Knobs, set before the requests they affect.
	user, pass  string                                        // require HTTP Basic
	apiKey      string                                        // require "ApiKey <apiKey>"
	maxBody     int                                           // > 0: a longer bulk body (uncompressed) gets 413
	itemStatus  func(call, item int, id string) int           // a status to answer for an item (0: store it)
	bulkHook    func(w http.ResponseWriter, c *bulkCall) bool // answers the whole bulk request itself when true
	securityOff bool                                          // answer security APIs as a cluster without security
	missing     []string                                      // has_privileges: index privileges the user lacks
	blocks      map[string]string                             // index -> block setting that is "true"
	templateErr int                                           // PUT _index_template answers this status
	pipelineErr int                                           // PUT _ingest/pipeline answers this status
}

type bulkCall struct {
	header  http.Header
	query   url.Values
	raw     []byte // the body as received
	body    []byte // the body, gunzipped
	actions []bulkAction
	docs    [][]byte
}

type bulkAction struct {
	op    string
	index string
	id    string
}

func newFakeES(t *testing.T) *fakeES {
	f := &fakeES{t: t, docs: map[string][]byte{}, templates: map[string][]byte{}, pipelines: map[string][]byte{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeES) URL() string { return f.srv.URL }

func (f *fakeES) calls() []*bulkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*bulkCall(nil), f.bulks...)
}

func (f *fakeES) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeES) stored() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range f.docs {
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	if s, ok := v.(string); ok {
		io.WriteString(w, s)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// esErr is the error reply of Elasticsearch: root_cause, type, reason, status.
func esErr(status int, typ, reason string) map[string]any {
	cause := map[string]any{"type": typ, "reason": reason}
	return map[string]any{"error": map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason}, "status": status}
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()

	if !f.authorized(r) {
		w.Header().Add("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `ApiKey`)
		writeJSON(w, 401, esErr(401, "security_exception", fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", f.userOf(r), r.URL.Path)))
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" && (r.Method == "GET" || r.Method == "HEAD"):
		writeJSON(w, 200, `{
  "name" : "es01",
  "cluster_name" : "docker-cluster",
  "cluster_uuid" : "Xk6ZLz0CS8WS3y7kG_sSxw",
  "version" : {
    "number" : "8.15.0",
    "build_flavor" : "default",
    "build_type" : "docker",
    "build_hash" : "1a77947f34deddb41af25e6f0ddb8e830159c179",
    "build_date" : "2024-08-05T10:05:34.233336849Z",
    "build_snapshot" : false,
    "lucene_version" : "9.11.1",
    "minimum_wire_compatibility_version" : "7.17.0",
    "minimum_index_compatibility_version" : "7.0.0"
  },
  "tagline" : "You Know, for Search"
}`)
	case p == "/_bulk" && (r.Method == "POST" || r.Method == "PUT"):
		f.bulk(w, r)
	case strings.HasPrefix(p, "/_index_template/"):
		f.template(w, r, strings.TrimPrefix(p, "/_index_template/"))
	case strings.HasPrefix(p, "/_ingest/pipeline/"):
		f.pipeline(w, r, strings.TrimPrefix(p, "/_ingest/pipeline/"))
	case p == "/_security/_authenticate":
		if f.securityOff {
			f.noSecurity(w)
			return
		}
		writeJSON(w, 200, map[string]any{"username": f.userOf(r), "roles": []string{"auditfwd_writer"}, "full_name": nil, "email": nil,
			"metadata": map[string]any{}, "enabled": true, "authentication_realm": map[string]any{"name": "default_native", "type": "native"},
			"lookup_realm": map[string]any{"name": "default_native", "type": "native"}, "authentication_type": "realm"})
	case p == "/_security/user/_has_privileges":
		if f.securityOff {
			f.noSecurity(w)
			return
		}
		f.hasPrivileges(w, r)
	case strings.Contains(p, "/_settings"):
		f.settings(w, strings.TrimPrefix(p[:strings.Index(p, "/_settings")], "/"))
	default:
		writeJSON(w, 400, map[string]any{"error": fmt.Sprintf("no handler found for uri [%s] and method [%s]", p, r.Method)})
	}
}

func (f *fakeES) userOf(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "ApiKey") {
		return "api_key_user"
	}
	return "_anonymous"
}

func (f *fakeES) authorized(r *http.Request) bool {
	switch {
	case f.apiKey != "":
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		return strings.EqualFold(scheme, "ApiKey") && key == f.apiKey // schemes are case-insensitive (RFC 7235)
	case f.user != "":
		u, p, ok := r.BasicAuth()
		return ok && u == f.user && p == f.pass
	}
	return true
}

// noSecurity is a cluster with xpack.security.enabled: false.
func (f *fakeES) noSecurity(w http.ResponseWriter) {
	writeJSON(w, 500, esErr(500, "exception", "Security must be explicitly enabled when using a [basic] license. Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node."))
}

func (f *fakeES) bulk(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	body := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			writeJSON(w, 400, esErr(400, "parse_exception", "request body is not gzip: "+err.Error()))
			return
		}
		if body, err = io.ReadAll(zr); err != nil {
			writeJSON(w, 400, esErr(400, "parse_exception", err.Error()))
			return
		}
	}
	if f.maxBody > 0 && len(body) > f.maxBody {
		// http.max_content_length: Netty's aggregator answers before any
		// parsing, with no body.
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	c := &bulkCall{header: r.Header.Clone(), query: r.URL.Query(), raw: raw, body: body}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var act map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(line, &act); err != nil || len(act) != 1 {
			writeJSON(w, 400, esErr(400, "illegal_argument_exception", fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", len(c.actions)*2+1)))
			return
		}
		for op, m := range act {
			c.actions = append(c.actions, bulkAction{op: op, index: m.Index, id: m.ID})
		}
		if !sc.Scan() {
			writeJSON(w, 400, esErr(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"))
			return
		}
		c.docs = append(c.docs, append([]byte(nil), sc.Bytes()...))
	}
	for _, a := range c.actions {
		if a.index == "" { // no index in the path either: /_bulk
			writeJSON(w, 400, esErr(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;"))
			return
		}
	}
	f.mu.Lock()
	f.bulks = append(f.bulks, c)
	callNo := len(f.bulks) - 1
	f.mu.Unlock()
	if f.bulkHook != nil && f.bulkHook(w, c) {
		return
	}

	items := make([]map[string]any, len(c.actions))
	hasErrors := false
	for i, a := range c.actions {
		st := 0
		if f.itemStatus != nil {
			st = f.itemStatus(callNo, i, a.id)
		}
		res := map[string]any{"_index": a.index, "_id": a.id}
		if st == 0 {
			st = f.store(a, c.docs[i])
		}
		res["status"] = st
		if st <= 201 {
			res["_version"] = 1
			res["result"] = map[bool]string{true: "created", false: "updated"}[st == 201]
			res["_shards"] = map[string]int{"total": 2, "successful": 1, "failed": 0}
			res["_seq_no"] = i
			res["_primary_term"] = 1
		} else {
			hasErrors = true
			res["error"] = itemError(st, a)
		}
		items[i] = map[string]any{a.op: res}
	}
	reply := map[string]any{"took": 7, "errors": hasErrors, "items": items}
	if fp := r.URL.Query().Get("filter_path"); fp != "" {
		reply = filterBulk(reply, strings.Split(fp, ","))
	}
	writeJSON(w, 200, reply)
}

// store indexes a document as Elasticsearch would: create refuses an _id
// it has (409), index overwrites it (200).
func (f *fakeES) store(a bulkAction, doc []byte) int {
	if !json.Valid(doc) {
		return 400
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := a.index + "/" + a.id
	_, exists := f.docs[key]
	switch {
	case exists && a.op == "create":
		return 409
	case exists:
		f.docs[key] = doc
		return 200
	}
	f.docs[key] = doc
	return 201
}

// itemError is the error object Elasticsearch puts in a failed bulk item.
func itemError(status int, a bulkAction) map[string]any {
	switch status {
	case 409:
		return map[string]any{"type": "version_conflict_engine_exception",
			"reason":     fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", a.id),
			"index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": a.index}
	case 429:
		return map[string]any{"type": "es_rejected_execution_exception",
			"reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=53687091, replica_bytes=0, all_bytes=53687091, coordinating_operation_bytes=1048576, max_coordinating_and_primary_bytes=53687091]"}
	case 503:
		return map[string]any{"type": "unavailable_shards_exception",
			"reason": fmt.Sprintf("[%s][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[%s][0]] containing [1] requests]", a.index, a.index)}
	case 404:
		return map[string]any{"type": "index_not_found_exception", "reason": fmt.Sprintf("no such index [%s]", a.index),
			"index_uuid": "_na_", "index": a.index}
	case 400:
		return map[string]any{"type": "document_parsing_exception",
			"reason":    fmt.Sprintf("[1:512] failed to parse field [source.ip] of type [ip] in document with id '%s'. Preview of field's value: 'not-an-ip'", a.id),
			"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "'not-an-ip' is not an IP string literal."}}
	}
	return map[string]any{"type": "exception", "reason": fmt.Sprintf("status %d", status)}
}

// filterBulk applies a filter_path of the forms Elasticsearch documents
// (errors, items.*.status, items.*.error) to a bulk reply.
func filterBulk(reply map[string]any, paths []string) map[string]any {
	out := map[string]any{}
	keep := map[string]bool{}
	for _, p := range paths {
		if rest, ok := strings.CutPrefix(p, "items.*."); ok {
			keep[rest] = true
		} else if v, ok := reply[p]; ok {
			out[p] = v
		}
	}
	if len(keep) > 0 {
		var items []map[string]any
		for _, it := range reply["items"].([]map[string]any) {
			for op, res := range it {
				kept := map[string]any{}
				for k, v := range res.(map[string]any) {
					if keep[k] {
						kept[k] = v
					}
				}
				items = append(items, map[string]any{op: kept})
			}
		}
		out["items"] = items
	}
	return out
}

func (f *fakeES) template(w http.ResponseWriter, r *http.Request, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case "HEAD", "GET":
		if _, ok := f.templates[name]; ok {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(404)
	case "PUT", "POST":
		if f.templateErr != 0 {
			writeJSON(w, f.templateErr, esErr(f.templateErr, "illegal_argument_exception",
				"index template [wss-audit] has index patterns [wss-audit-*] matching patterns from existing templates [other] with patterns (other => [wss-*]) that have the same priority [200]"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !json.Valid(body) {
			writeJSON(w, 400, esErr(400, "x_content_parse_exception", "not JSON"))
			return
		}
		f.templates[name] = body
		writeJSON(w, 200, `{"acknowledged":true}`)
	default:
		w.WriteHeader(405)
	}
}

// pipeline answers PUT _ingest/pipeline/<id> as Elasticsearch does: the body
// must be JSON with a processors array (Elasticsearch's parse error
// otherwise), 403 without manage_pipeline.
func (f *fakeES) pipeline(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case "PUT":
		if f.pipelineErr != 0 {
			writeJSON(w, f.pipelineErr, esErr(f.pipelineErr, "security_exception",
				"action [cluster:admin/ingest/pipeline/put] is unauthorized for user [auditfwd] with effective roles [auditfwd_writer], this action is granted by the cluster privileges [manage_ingest_pipelines,manage_pipeline,manage,all]"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Processors []map[string]json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Processors == nil {
			writeJSON(w, 400, esErr(400, "parse_exception", "[processors] required property is missing"))
			return
		}
		f.pipelines[id] = body
		writeJSON(w, 200, `{"acknowledged":true}`)
	case "GET":
		if b, ok := f.pipelines[id]; ok {
			writeJSON(w, 200, map[string]json.RawMessage{id: b})
			return
		}
		writeJSON(w, 404, `{}`)
	default:
		w.WriteHeader(405)
	}
}

func (f *fakeES) hasPrivileges(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Cluster []string `json:"cluster"`
		Index   []struct {
			Names      []string `json:"names"`
			Privileges []string `json:"privileges"`
		} `json:"index"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, 400, esErr(400, "parse_exception", err.Error()))
		return
	}
	lacks := map[string]bool{}
	for _, m := range f.missing {
		lacks[m] = true
	}
	all := true
	cluster := map[string]bool{}
	for _, c := range req.Cluster {
		cluster[c] = !lacks[c]
		all = all && cluster[c]
	}
	index := map[string]map[string]bool{}
	for _, ix := range req.Index {
		for _, n := range ix.Names {
			index[n] = map[string]bool{}
			for _, p := range ix.Privileges {
				index[n][p] = !lacks[p]
				all = all && index[n][p]
			}
		}
	}
	writeJSON(w, 200, map[string]any{"username": f.userOf(r), "has_all_requested": all, "cluster": cluster, "index": index, "application": map[string]any{}})
}

func (f *fakeES) settings(w http.ResponseWriter, index string) {
	b, ok := f.blocks[index]
	if !ok {
		// ignore_unavailable=true on a missing index: an empty object.
		writeJSON(w, 200, `{}`)
		return
	}
	writeJSON(w, 200, map[string]any{index: map[string]any{"settings": map[string]string{b: "true"}}})
}
