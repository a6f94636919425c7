package main

import (
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
)

// logWarnings logs the config's security warnings (config.Warnings) at
// start and after a reload: settings that work but expose credentials or
// records, which an operator should see in the agent's own log.
func logWarnings(log *logrus.Logger, cfg *config.Config) {
	for _, w := range config.Warnings(cfg) {
		log.WithField("key", w.Path).Warn(w.String())
	}
}

// printWarnings prints them for check and validate, one WARN line each;
// they do not change the exit status.
func printWarnings(w io.Writer, cfg *config.Config, indent string) {
	for _, warn := range config.Warnings(cfg) {
		fmt.Fprintf(w, "%sWARN %s\n", indent, warn)
	}
}
