package queue

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Extent is what a queue directory holds on disk, read without the state:
// for `state verify` and `state repair`.
type Extent struct {
	First int64 // position of the first byte on disk (the first segment's base)
	End   int64 // position after the last byte on disk
	// WholeEnd is the position after the last whole, checksummed frame
	// of the chain walked from the delivery mark (from First when no
	// segment holds the mark): where a log cut short can be committed
	// again.
	WholeEnd int64
	Segments int
}

// Scan reads the segment files of dir; delivered is the queue's delivery
// mark. Frames are walked from it, not from the first segment's start: the
// delivered start of a segment may be a punched hole (see release), zeros
// that are no frame. A missing directory is an empty extent.
func Scan(dir string, delivered int64) (Extent, error) {
	bases, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return Extent{}, nil
	}
	if err != nil {
		return Extent{}, err
	}
	x := Extent{Segments: len(bases)}
	if len(bases) == 0 {
		return x, nil
	}
	sizes := make([]int64, len(bases))
	for i, base := range bases {
		fi, err := os.Stat(filepath.Join(dir, segName(base)))
		if err != nil {
			return x, err
		}
		sizes[i] = fi.Size()
	}
	x.First, x.End = bases[0], bases[len(bases)-1]+sizes[len(bases)-1]
	from, off := 0, int64(0)
	for i, base := range bases {
		if base <= delivered && delivered <= base+sizes[i] {
			from, off = i, delivered-base
		}
	}
	x.WholeEnd = bases[from] + off
	for i := from; i < len(bases); i++ {
		if bases[i]+off != x.WholeEnd {
			break // a gap: nothing after it is reachable
		}
		n, err := wholeFrames(filepath.Join(dir, segName(bases[i])), off)
		if err != nil {
			return x, err
		}
		x.WholeEnd = bases[i] + n
		if n != sizes[i] {
			break
		}
		off = 0
	}
	return x, nil
}

func segName(base int64) string { return fmt.Sprintf("%020d%s", base, segExt) }

// listSegments returns the base positions of dir's segment files, ascending.
func listSegments(dir string) ([]int64, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	for _, n := range names {
		if b, ok := strings.CutSuffix(n.Name(), segExt); ok {
			if v, err := strconv.ParseInt(b, 10, 64); err == nil {
				bases = append(bases, v)
			}
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// wholeFrames is the offset in a segment where the run of whole frames
// whose checksums match, starting at offset from, ends.
func wholeFrames(path string, from int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	pos := from
	var hdr [frameHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return pos, nil
		}
		n := binary.LittleEndian.Uint32(hdr[0:])
		if n < payloadHeader || n > MaxEntry {
			return pos, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return pos, nil
		}
		if crc32.Update(0, crcTable, payload) != binary.LittleEndian.Uint32(hdr[4:]) {
			return pos, nil
		}
		pos += frameHeader + int64(n)
	}
}

// CopyRange copies the log's bytes from position from to its end (as the
// segment files in dir hold them, frames and all) into dst, for `state
// repair` to keep what a cut would lose. Nothing is written when there is
// nothing past from.
func CopyRange(dir string, from int64, dst string) error {
	bases, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var out *os.File
	defer func() {
		if out != nil {
			out.Close()
		}
	}()
	for _, base := range bases {
		f, err := os.Open(filepath.Join(dir, segName(base)))
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil || base+fi.Size() <= from {
			f.Close()
			if err != nil {
				return err
			}
			continue
		}
		if out == nil {
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				f.Close()
				return err
			}
			if out, err = os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err != nil {
				f.Close()
				return err
			}
		}
		start := max(0, from-base)
		_, err = io.Copy(out, io.NewSectionReader(f, start, fi.Size()-start))
		f.Close()
		if err != nil {
			return err
		}
	}
	if out == nil {
		return nil
	}
	return out.Sync()
}
