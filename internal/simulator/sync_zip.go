package simulator

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// partialZipBytes is the size of the partial ZIPs of the public notes.
const partialZipBytes = 203

// write serves pg: a ZIP streamed straight into the answer (files are
// generated line by line, so memory does not grow with the page), then
// the trailer. Only an abort page buffers its last file, to cut it.
func (s *SyncSimulator) write(w http.ResponseWriter, pg page, f SyncFault) {
	now := s.cfg.Now().UTC()
	w.Header().Set("Content-Type", "application/octet-stream")
	if pg.end > pg.begin {
		w.Header().Set("Content-Disposition", `attachment; filename="cloud_archive_`+now.Format("20060102150405")+`.zip"`)
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	if pg.end > pg.begin {
		var out io.Writer = bw
		var cw *capWriter
		if f.Partial {
			cw = &capWriter{w: bw, left: partialZipBytes}
			out = cw
		}
		if err := s.writeZip(out, pg, f.Abort, now); err != nil && (cw == nil || !errors.Is(err, errCapped)) {
			return // the client went away
		}
	}
	if f.NoTrailer {
		return
	}
	// CRLF lines, as XSIAM's pattern expects.
	fmt.Fprintf(bw, "X-sync-token: %s\r\nX-sync-status: %s\r\n", pg.token, pg.status)
}

// writeZip writes the files of [pg.begin, pg.end): cut at FileLines, at
// each hour and at each change of format; every third file holds two gzip
// members, each with its own header.
func (s *SyncSimulator) writeZip(w io.Writer, pg page, abort bool, now time.Time) error {
	zw := zip.NewWriter(w)
	var files [][2]int64
	for p := pg.begin; p < pg.end; {
		e := min(p+int64(s.cfg.FileLines), s.formatEnd(p), pg.end)
		files = append(files, [2]int64{p, e})
		p = e
	}
	for i, fr := range files {
		first := time.UnixMilli(s.timeOf(fr[0])).UTC()
		name := fmt.Sprintf("cloud_%05d_%s.log.gz", mix64(s.key^uint64(fr[0]))%100000, first.Format("20060102150405"))
		hdr := &zip.FileHeader{Name: name, Method: zip.Store, Modified: now}
		ent, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		members := 1
		if i%3 == 2 && fr[1]-fr[0] >= 2 {
			members = 2
		}
		if abort && i == len(files)-1 {
			var buf bytes.Buffer
			if err := s.writeGzipFile(&buf, fr[0], fr[1], members, now); err != nil {
				return err
			}
			if _, err := ent.Write(buf.Bytes()[:buf.Len()/2]); err != nil {
				return err
			}
			continue
		}
		if err := s.writeGzipFile(ent, fr[0], fr[1], members, now); err != nil {
			return err
		}
	}
	return zw.Close()
}

func (s *SyncSimulator) writeGzipFile(w io.Writer, begin, end int64, members int, now time.Time) error {
	cut := end
	if members == 2 {
		cut = begin + (end-begin)/2
	}
	for _, m := range [][2]int64{{begin, cut}, {cut, end}} {
		if m[0] >= m[1] {
			continue
		}
		gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(gz, 32<<10)
		first := time.UnixMilli(s.timeOf(m[0])).UTC()
		fmt.Fprintf(bw, "#Software: SGOS 7.3.13.1 (cloud)\n#Version: 1.0\n#Start-Date: %s\n#Date: %s\n#Fields: ",
			first.Format("2006-01-02 15:04:05"), now.Format("2006-01-02 15:04:05"))
		for i, f := range s.fields(s.formatOf(m[0])) {
			if i > 0 {
				bw.WriteByte(' ')
			}
			bw.WriteString(f)
		}
		bw.WriteString("\n#Remark: auditfwd Sync API simulator\n")
		var line []byte
		for p := m[0]; p < m[1]; p++ {
			line = s.syncLine(line[:0], p)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return nil
}

var errCapped = errors.New("simulator: partial ZIP cut")

// capWriter passes the first left bytes and then refuses the rest.
type capWriter struct {
	w    io.Writer
	left int
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCapped
	}
	n := min(len(p), c.left)
	m, err := c.w.Write(p[:n])
	c.left -= m
	if err != nil {
		return m, err
	}
	if n < len(p) {
		return m, errCapped
	}
	return m, nil
}
