package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// scenarioConfig turns the demo tenant into the scenario tenant: its
// ScenarioDays end at today's midnight, so every record, attacks included,
// is there at once. Hostile strings are off (they would overwrite planted
// names); duplicates, malformed entries and lateness stay.
func scenarioConfig(sc simulator.Config, now time.Time) simulator.Config {
	end := now.UTC().Truncate(24 * time.Hour)
	sc.Start = end.Add(-simulator.ScenarioDays * 24 * time.Hour)
	sc.End = end
	sc.Records = 0
	sc.HostileRate = 0
	sc.Scenarios = true
	return sc
}

// writeGroundTruth writes the scenarios' labels with each planted record's
// event.hash, as auditfwd computes it from the served bytes: an alert's
// related.hash can be matched against them.
func writeGroundTruth(sim *simulator.Simulator, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ground truth: %w", err)
	}
	err = sim.WriteGroundTruth(f, func(raw []byte) string {
		h := event.Hash(raw)
		return hex.EncodeToString(h[:])
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ground truth %s: %w", path, err)
	}
	return nil
}
