package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
)

// The bbolt file format, as far as checkOpenFile reads it (go.etcd.io/bbolt,
// internal/common: Page and Meta). Both meta pages (page 0 and page 1)
// start with a 16-byte page header followed by the meta:
//
//	magic uint32, version uint32, pageSize uint32, flags uint32,
//	root bucket {root pgid uint64, sequence uint64}, freelist pgid uint64,
//	high-water pgid uint64, txid uint64, checksum uint64 (FNV-64a of the
//	meta bytes before it)
//
// in the machine's byte order (little-endian on every supported platform).
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
	metaChecksumAt = 56
	noFreelist     = ^uint64(0)
	// Page flags (the uint16 at offset 8 of a page header).
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
)

// boltMeta is one meta page as read from the file.
type boltMeta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid                     uint64
	sumOK                    bool
}

func readMeta(b []byte) boltMeta {
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	return boltMeta{
		magic: le.Uint32(m[0:]), version: le.Uint32(m[4:]), pageSize: le.Uint32(m[8:]),
		root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:]),
		sumOK: le.Uint64(m[metaChecksumAt:]) == h.Sum64(),
	}
}

func (m boltMeta) valid() bool {
	return m.magic == boltMagic && m.version == boltVersion && m.sumOK &&
		m.pageSize >= 512 && m.pageSize <= 1<<16 && m.pageSize&(m.pageSize-1) == 0 && m.pgid >= 4 &&
		m.root >= 2 && m.root < m.pgid && (m.freelist == noFreelist || m.freelist >= 2 && m.freelist < m.pgid)
}

// checkOpenFile looks at an open database file before bbolt reads its
// pages through its memory map: bbolt trusts the meta pages, and a file
// shorter than they claim makes the first read past its end a SIGBUS that
// no recover catches. It returns nil for a file bbolt can open and read
// safely, else an error wrapping ErrCorrupt that says what is wrong. It
// reads the file's size and a few page headers through f, never its map,
// and never writes.
//
// It runs on the descriptor bbolt opens (DB.boltOpen's OpenFile) and again
// before every read through a kept mapping (reader.go): one fstat and four
// small reads, no second open.
func checkOpenFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return checkFileAt(f, fi.Size())
}

// checkFileAt is checkOpenFile for f of the given size. (An *os.File, not
// an io.ReaderAt: through an interface the page buffers would escape to the
// heap, and this runs before every read.)
func checkFileAt(f *os.File, size int64) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if size == 0 {
		return corrupt("the file is empty (0 bytes)")
	}
	// Both meta pages in one read when pages are 4 KiB, as bbolt makes
	// them on the usual platforms; else the second is read on its own.
	var first [4096 + pageHeaderSize + metaSize]byte
	n, _ := f.ReadAt(first[:], 0)
	head := first[:pageHeaderSize+metaSize]
	if n < len(head) {
		if n >= pageHeaderSize+4 && binary.LittleEndian.Uint32(head[pageHeaderSize:]) != boltMagic {
			return corrupt("not a database file: it starts with %s, not a bbolt header", strconv.Quote(printable(head[:16])))
		}
		return corrupt("the file is only %d bytes, too short for a database header", size)
	}
	var metas [2]boltMeta
	metas[0] = readMeta(head)
	nmetas := 1
	if m := metas[0]; m.magic == boltMagic && m.pageSize == 4096 && n == len(first) {
		if m1 := readMeta(first[4096:]); m1.magic == boltMagic && m1.pageSize == 4096 {
			metas[1] = m1
			nmetas = 2
		}
	}
	// The second meta page sits one page further; its size comes from the
	// first meta, or, if that one is damaged, is one of the sizes bbolt uses.
	sizes := []uint32{metas[0].pageSize}
	if metas[0].magic != boltMagic {
		sizes = []uint32{uint32(os.Getpagesize()), 4096, 8192, 16384, 32768, 65536}
	}
	for _, ps := range sizes {
		if nmetas == 2 || ps < 512 || ps > 1<<16 {
			continue
		}
		var b [pageHeaderSize + metaSize]byte
		if n, _ := f.ReadAt(b[:], int64(ps)); n == len(b) {
			if m := readMeta(b[:]); m.magic == boltMagic && m.pageSize == ps {
				metas[1] = m
				nmetas = 2
				break
			}
		}
	}
	var best *boltMeta
	for i := range metas[:nmetas] {
		if metas[i].valid() && (best == nil || metas[i].txid > best.txid) {
			best = &metas[i]
		}
	}
	if best == nil {
		if metas[0].magic != boltMagic && nmetas == 1 {
			return corrupt("not a database file: it starts with %s, not a bbolt header", strconv.Quote(printable(head[:16])))
		}
		if metas[0].version != boltVersion && metas[0].magic == boltMagic {
			return corrupt("unsupported bbolt format version %d", metas[0].version)
		}
		return corrupt("both header (meta) pages fail their checksum")
	}
	// Compared as a page count: pgid × pageSize overflows for a header
	// that claims an absurd number of pages.
	if best.pgid > uint64(size)/uint64(best.pageSize) {
		return corrupt("the file is truncated: %d bytes, but its header says it holds %d pages of %d bytes",
			size, best.pgid, best.pageSize)
	}
	// bbolt panics inside Open on a freelist page that is not one; the
	// root page is checked alike.
	pageFlags := func(id uint64) (uint16, error) {
		var h [pageHeaderSize]byte
		if _, err := f.ReadAt(h[:], int64(id)*int64(best.pageSize)); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint16(h[8:]), nil
	}
	if best.freelist != noFreelist {
		flags, err := pageFlags(best.freelist)
		if err != nil {
			return err
		}
		if flags&freelistPageFlag == 0 {
			return corrupt("the free-page list (page %d) is not a free-page list (page flags %#x)", best.freelist, flags)
		}
	}
	flags, err := pageFlags(best.root)
	if err != nil {
		return err
	}
	if flags&(branchPageFlag|leafPageFlag) == 0 {
		return corrupt("the root page (page %d) holds no data (page flags %#x)", best.root, flags)
	}
	return nil
}

// printable returns b with bytes outside printable ASCII as '.'.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
