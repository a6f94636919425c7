package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/outputs"
)

// reloadOnHUP reloads the config file on SIGHUP. A config that does not
// load or validate is refused with every error, and the running one stays.
func reloadOnHUP(ctx context.Context, p *pipeline.Pipeline, path string, log *logrus.Logger, stdout io.Writer) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-ch:
			}
			log.WithField("config", path).Info("SIGHUP: reloading the config")
			cfg, err := config.Load(path)
			if err != nil {
				var ce config.Errors
				if errors.As(err, &ce) {
					for _, e := range ce {
						log.WithField("config", path).Error("config reload refused: " + e.Error())
					}
				} else {
					log.WithField("config", path).WithError(err).Error("config reload refused")
				}
				log.Warn("the running config stays in force")
				continue
			}
			err = p.Reload(ctx, cfg, func(oc config.Output) (outputs.Output, error) { return buildOutput(oc, stdout) })
			if err != nil {
				log.WithError(err).Error("config reload refused; the running config stays in force")
				continue
			}
			applyLogConfig(log, cfg.Log)
			logWarnings(log, cfg)
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
