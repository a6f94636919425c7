// Package stdout prints events as NDJSON on standard output (demo, dry runs,
// piping into another tool). It is at-least-once: a crash between a write and
// the delivery mark prints the batch again.
package stdout

import (
	"bufio"
	"context"
	"io"
	"os"

	"github.com/auditfwd/auditfwd/internal/event"
)

// Config has no keys; it exists so every output has one.
type Config struct{}

// Validate has nothing to check.
func (c *Config) Validate() []error { return nil }

// Output writes to a writer, os.Stdout by default.
type Output struct {
	name string
	w    *bufio.Writer
}

// New builds the output.
func New(name string, w io.Writer) *Output {
	if w == nil {
		w = os.Stdout
	}
	return &Output{name: name, w: bufio.NewWriter(w)}
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

// Write prints one document per line.
func (o *Output) Write(_ context.Context, batch []event.Event) error {
	for _, e := range batch {
		o.w.Write(e.Doc)
		o.w.WriteByte('\n')
	}
	return o.w.Flush()
}

// Close flushes.
func (o *Output) Close() error { return o.w.Flush() }

// CopiesDocuments makes the output an outputs.Copier: Write copies the documents into its buffered writer.
func (*Output) CopiesDocuments() {}
