package elasticsearch

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// mappings are the ECS mappings of the fields the event package writes.
// event.original is kept but not indexed (it is the raw record, for the
// record); wss.audit.* holds the vendor's own keys, whatever they are, as
// keywords; date and numeric detection are off so that a vendor string
// that looks like a date cannot fix a field's type by accident.
//
//go:embed mappings.json
var mappings []byte

// templatePriority beats the built-in logs-*-* template (priority 100), so
// that a data stream named logs-wss.audit-default gets these mappings.
const templatePriority = 200

// ingestPipeline sets event.ingested, which ECS defines as the time the event
// reached the data store: only the cluster knows it. auditfwd writes its own
// read time as event.created; an event that waited in the disk queue through
// an outage then still gets a fresh event.ingested, so Elastic rules that
// run with timestamp_override: event.ingested see it.
//
// The triple braces keep Mustache from HTML-escaping the value (Elastic's own
// final pipelines write it so).
const ingestPipeline = `{"description":"auditfwd: event.ingested is when the event reached Elasticsearch",` +
	`"processors":[{"set":{"field":"event.ingested","value":"{{{_ingest.timestamp}}}",` +
	`"tag":"auditfwd-event-ingested"}}],"_meta":{"managed_by":"auditfwd"}}`

// IngestPipeline is the body of the ingest pipeline setup.template installs,
// for users who manage their own templates (docs/ecs.md shows it).
func IngestPipeline() []byte { return []byte(ingestPipeline) }

// templateBody is the composable index template for the configured index.
// index.final_pipeline, not default_pipeline, runs the event.ingested
// pipeline: a request pipeline (the pipeline key) replaces the default
// pipeline but runs before the final one.
func (o *Output) templateBody() ([]byte, error) {
	body := map[string]any{
		"index_patterns": []string{o.index.pattern()},
		"priority":       templatePriority,
		"template": map[string]any{
			"settings": map[string]any{"index.final_pipeline": o.cfg.Setup.pipelineName()},
			"mappings": json.RawMessage(mappings),
		},
		"_meta": map[string]any{"managed_by": "auditfwd", "description": "ECS mappings for WSS audit events"},
	}
	if o.cfg.Setup.dataStream() {
		body["data_stream"] = map[string]any{}
	}
	return json.Marshal(body)
}

// setup installs the ingest pipeline and then the index template, once,
// before the first bulk request (the pipeline first: a template naming a
// missing final pipeline would fail every document). A failure is returned
// by Write as a retryable error and tried again on the next Write: events
// wait in the queue rather than land in an index with guessed mappings or
// without event.ingested.
func (o *Output) setup(ctx context.Context) error {
	if !o.cfg.Setup.Template {
		return nil
	}
	o.setupMu.Lock()
	defer o.setupMu.Unlock()
	if o.setupDone {
		return nil
	}
	name := o.cfg.Setup.TemplateName
	kind := "index template"
	if o.cfg.Setup.dataStream() {
		kind = "data stream template"
	}
	fail := func(err error) error {
		return fmt.Errorf("setup.template: installing %s %q: %w", kind, name, err)
	}

	if !o.cfg.Setup.Overwrite {
		rctx, cancel := o.requestCtx(ctx)
		res, err := esapi.IndicesExistsIndexTemplateRequest{Name: name}.Do(rctx, o.client)
		if err != nil {
			cancel()
			return fail(err)
		}
		status, raw := drain(res)
		cancel()
		switch status {
		case http.StatusOK:
			o.setupDone = true // someone's template (and pipeline): leave them alone
			return nil
		case http.StatusNotFound:
		case http.StatusUnauthorized, http.StatusForbidden:
			return fail(authError(status, errorReason(raw), "they need the manage_index_templates cluster privilege"))
		default:
			return fail(fmt.Errorf("checking whether it exists: HTTP %d: %s", status, errorReason(raw)))
		}
	}

	if err := o.putPipeline(ctx); err != nil {
		return err
	}
	body, err := o.templateBody()
	if err != nil {
		return fail(err)
	}
	rctx, cancel := o.requestCtx(ctx)
	defer cancel()
	res, err := esapi.IndicesPutIndexTemplateRequest{Name: name, Body: bytes.NewReader(body)}.Do(rctx, o.client)
	if err != nil {
		return fail(err)
	}
	status, raw := drain(res)
	switch {
	case status >= 200 && status <= 299:
		o.setupDone = true
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fail(authError(status, errorReason(raw), "they need the manage_index_templates cluster privilege"))
	default:
		return fail(fmt.Errorf("HTTP %d: %s", status, errorReason(raw)))
	}
}

// putPipeline installs (or replaces: it is ours, and the same every time)
// the event.ingested pipeline.
func (o *Output) putPipeline(ctx context.Context) error {
	id := o.cfg.Setup.pipelineName()
	fail := func(err error) error {
		return fmt.Errorf("setup.template: installing ingest pipeline %q: %w", id, err)
	}
	rctx, cancel := o.requestCtx(ctx)
	defer cancel()
	res, err := esapi.IngestPutPipelineRequest{PipelineID: id, Body: bytes.NewReader(IngestPipeline())}.Do(rctx, o.client)
	if err != nil {
		return fail(err)
	}
	status, raw := drain(res)
	switch {
	case status >= 200 && status <= 299:
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fail(authError(status, errorReason(raw), "they need the manage_pipeline cluster privilege"))
	default:
		return fail(fmt.Errorf("HTTP %d: %s", status, errorReason(raw)))
	}
}

// drain reads and closes a small reply.
func drain(res *esapi.Response) (int, []byte) {
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, raw
}
