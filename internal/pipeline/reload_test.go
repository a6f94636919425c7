package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/outputs"
)

// breakDeadLetter makes the source dead letter's writes fail (a read-only
// descriptor), which fails the next checkpoint that has a dead-letter line
// fatally; the returned func puts the real file back.
func breakDeadLetter(t *testing.T, p *Pipeline) (restore func()) {
	t.Helper()
	ro, err := os.Open(p.dl.path)
	if err != nil {
		t.Fatal(err)
	}
	p.dl.mu.Lock()
	good := p.dl.f
	p.dl.f = ro
	p.dl.mu.Unlock()
	return func() {
		p.dl.mu.Lock()
		p.dl.f = good
		p.dl.mu.Unlock()
		ro.Close()
	}
}

// A source fails fatally while a reload is being applied (the reload
// restarts it): the failure must still stop the daemon with its error,
// not be reset by the restart and vanish.
func TestReloadKeepsASourcesFatalError(t *testing.T) {
	for _, tc := range []struct {
		name, sourceExtra string
	}{
		{"source kept", ""},
		{"source changed", "    poll_interval: 2s\n"}, // the old runner is replaced
	} {
		t.Run(tc.name, func(t *testing.T) {
			requested, release := make(chan struct{}), make(chan struct{})
			var first atomic.Bool
			h := stubHarness(t, func(w http.ResponseWriter, r *http.Request) {
				if first.CompareAndSwap(false, true) {
					close(requested)
					<-release
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `[{"id":"bad-1","renamed_time":"x"}]`)
			})
			c := h.config(h.yaml("", ""))
			p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Now: h.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			restore := breakDeadLetter(t, p)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- p.Run(ctx) }()

			select {
			case <-requested:
			case <-time.After(60 * time.Second):
				t.Fatal("the source never polled")
			}
			// Adding an output restarts every source. While Run applies the
			// reload, the source's window goes on and fails fatally.
			c2 := h.config(h.yaml(tc.sourceExtra, "") +
				"  - {name: extra, type: stdout}\n")
			build := func(oc config.Output) (outputs.Output, error) {
				old := p.srcs[0] // Run's goroutine: p.srcs is stable here
				close(release)
				select {
				case <-old.done:
				case <-time.After(60 * time.Second):
					t.Error("the source did not fail")
				}
				restore() // a restarted source would now succeed
				return newTestOutput(oc.Name), nil
			}
			rerr := p.Reload(ctx, c2, build)
			if rerr == nil {
				t.Error("Reload applied a config while a source had failed: want an error")
			}

			select {
			case err := <-runErr:
				if err == nil || !strings.Contains(err.Error(), "dead letter") {
					t.Fatalf("Run = %v; want the source's fatal dead-letter error", err)
				}
				var fatal *errFatal
				if !errors.As(err, &fatal) {
					t.Fatalf("Run = %v; want a fatal error (exit 1)", err)
				}
			case <-time.After(60 * time.Second):
				cancel()
				t.Fatalf("the daemon went on after its source failed fatally (reload: %v); stopped, Run = %v", rerr, <-runErr)
			}
		})
	}
}

// A fatal error that coincides with the source being stopped (a reload or
// shutdown cancelling it mid-window) is still the source's result.
func TestStoppedSourceKeepsFatalError(t *testing.T) {
	h := stubHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":"bad-1","renamed_time":"x"}]`)
	})
	c := h.config(h.yaml("", ""))
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := p.srcs[0]
	if err := p.wire(s); err != nil {
		t.Fatal(err)
	}
	defer breakDeadLetter(t, p)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.onCheckpoint = func(int) { cancel() } // stopped as the checkpoint fails
	err = s.run(ctx)
	var fatal *errFatal
	if !errors.As(err, &fatal) || !strings.Contains(err.Error(), "dead letter") {
		t.Fatalf("run = %v; want the fatal dead-letter error", err)
	}
}
