package wssaccess

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// A damaged archive is the Sync API's abort / cut-download case: the same
// request with the same token is repeated, never a fatal stop of the source.
func TestAdviseDamagedArchiveRepeats(t *testing.T) {
	good := gzipped(t, sampleFile(0, 20))
	errs := map[string]error{}
	for name, z := range map[string][]byte{
		"truncated gzip":    zipOf(t, zipEntry{name: "bad", data: good[:len(good)/2]}),
		"gzip CRC mismatch": zipOf(t, zipEntry{name: "bad", data: damage(good, -6)}),
		"ZIP CRC mismatch":  zipCRCMismatch(t, good),
		"not gzip":          zipOf(t, zipEntry{name: "bad", data: []byte("PK\x03\x04 garbage")}),
	} {
		_, _, errs[name+" from Next"] = readAll(t, openBytes(t, z))
		errs[name+" from Verify"] = openBytes(t, z).Verify()
	}
	_, errs["directory from OpenArchive"] = OpenArchive(bytes.NewReader([]byte("<html>busy</html>")), 17)
	errs["wrapped"] = fmt.Errorf("decoding page 3: %w", errs["gzip CRC mismatch from Next"])
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			var de *DamagedArchiveError
			if !errors.As(err, &de) {
				t.Fatalf("setup: %v (%T) is not a *DamagedArchiveError", err, err)
			}
			if a, d := Advise(err); a != Repeat || d != DefaultRepeatWait {
				t.Errorf("Advise(%v) = %v, %v; want %v, %v", err, a, d, Repeat, DefaultRepeatWait)
			}
		})
	}
}
