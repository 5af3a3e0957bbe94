package plist

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Binary property lists (bplist00) are expanded into the XML form, which
// the XML decoder then reads, so both forms share one set of rules for Go
// destinations and Raw. The expansion is where a binary file's own risks
// are handled: offsets and references are checked against the file,
// containers that contain themselves are refused, and every object is
// counted each time it is reached, so shared subtrees cannot amplify.
//
// Layout: "bplist00", the objects, an offset table (one offset per object)
// and a 32-byte trailer: 6 unused bytes, the size of an offset, the size
// of an object reference, the object count, the top object, and where the
// offset table starts.

const (
	bplistHeader  = "bplist00"
	trailerSize   = 32
	appleEpochSec = 978307200 // 2001-01-01T00:00:00Z in Unix seconds
)

type bplist struct {
	data       []byte
	offSize    int    // bytes per offset table entry
	refSize    int    // bytes per object reference
	numObjects uint64 // entries in the offset table
	tableStart int    // offset of the offset table, the end of the objects
	lim        Limits
	values     int
	depth      int
	budget     int      // string and data bytes that may still be produced
	onPath     []uint64 // bit set of the containers being expanded
	out        []byte
}

func (p *bplist) errSyntax(off int, msg string) error {
	return &decodeError{kind: ErrSyntax, msg: "binary: " + msg, off: off}
}

func (p *bplist) errLimit(off int, msg string) error {
	return &decodeError{kind: ErrLimit, msg: "binary: " + msg, off: off}
}

// binaryToXML expands a binary property list into one XML value.
func binaryToXML(data []byte, lim Limits) ([]byte, error) {
	p := &bplist{data: data, lim: lim}
	if !bytes.HasPrefix(data, []byte(bplistHeader)) {
		return nil, p.errSyntax(0, "unsupported version "+strconv.Quote(string(data[:min(len(data), 8)])))
	}
	if len(data) < len(bplistHeader)+trailerSize+1 {
		return nil, p.errSyntax(0, "too short")
	}
	tr := data[len(data)-trailerSize:]
	p.offSize, p.refSize = int(tr[6]), int(tr[7])
	p.numObjects = binary.BigEndian.Uint64(tr[8:])
	top := binary.BigEndian.Uint64(tr[16:])
	table := binary.BigEndian.Uint64(tr[24:])
	end := uint64(len(data) - trailerSize)
	switch {
	case p.offSize < 1 || p.offSize > 8 || p.refSize < 1 || p.refSize > 8:
		return nil, p.errSyntax(len(data)-trailerSize, "bad offset or reference size")
	case table < uint64(len(bplistHeader)) || table > end:
		return nil, p.errSyntax(len(data)-trailerSize, "offset table outside the file")
	case p.numObjects == 0 || p.numObjects > (end-table)/uint64(p.offSize):
		return nil, p.errSyntax(len(data)-trailerSize, "object count does not fit the offset table")
	case top >= p.numObjects:
		return nil, p.errSyntax(len(data)-trailerSize, "top object out of range")
	}
	p.tableStart = int(table)
	p.onPath = make([]uint64, (p.numObjects+63)/64)
	p.budget = 2*len(data) + lim.MaxValueBytes
	p.out = make([]byte, 0, min(2*len(data), 1<<20))
	if p.isNull(top) {
		return nil, p.errSyntax(0, "top object is null")
	}
	if err := p.object(top); err != nil {
		return nil, err
	}
	return p.out, nil
}

// offset returns where object ref starts.
func (p *bplist) offset(ref uint64) (int, error) {
	at := p.tableStart + int(ref)*p.offSize
	o := readUint(p.data[at : at+p.offSize])
	if o < uint64(len(bplistHeader)) || o >= uint64(p.tableStart) {
		return 0, p.errSyntax(at, "object offset outside the object area")
	}
	return int(o), nil
}

func readUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// bytesAt returns n bytes at off, which must lie in the object area.
func (p *bplist) bytesAt(off int, n uint64) ([]byte, error) {
	if off > p.tableStart || n > uint64(p.tableStart-off) {
		return nil, p.errSyntax(off, "object runs past the object area")
	}
	return p.data[off : off+int(n)], nil
}

// length reads the element count of the object whose marker is at off and
// returns it with the offset of the object's contents.
func (p *bplist) length(off int) (uint64, int, error) {
	info := p.data[off] & 0x0F
	if info != 0x0F {
		return uint64(info), off + 1, nil
	}
	m, err := p.bytesAt(off+1, 1)
	if err != nil {
		return 0, 0, err
	}
	if m[0]>>4 != 0x1 || m[0]&0x0F > 3 {
		return 0, 0, p.errSyntax(off, "bad length")
	}
	size := uint64(1) << (m[0] & 0x0F)
	b, err := p.bytesAt(off+2, size)
	if err != nil {
		return 0, 0, err
	}
	return readUint(b), off + 2 + int(size), nil
}

// refs returns the n object references at off.
func (p *bplist) refs(off int, n uint64) ([]byte, error) {
	if n > uint64(p.tableStart)/uint64(p.refSize) {
		return nil, p.errSyntax(off, "container runs past the object area")
	}
	return p.bytesAt(off, n*uint64(p.refSize))
}

// ref reads reference i of refs.
func (p *bplist) ref(refs []byte, i int, off int) (uint64, error) {
	r := readUint(refs[i*p.refSize : (i+1)*p.refSize])
	if r >= p.numObjects {
		return 0, p.errSyntax(off, "object reference out of range")
	}
	return r, nil
}

// isNull reports whether ref is a null or fill object, which containers
// skip. A bad reference is not null; object reports it.
func (p *bplist) isNull(ref uint64) bool {
	off, err := p.offset(ref)
	return err == nil && (p.data[off] == 0x00 || p.data[off] == 0x0F)
}

func (p *bplist) spend(off int, n uint64) error {
	if n > uint64(p.lim.MaxValueBytes) {
		return p.errLimit(off, "value larger than MaxValueBytes")
	}
	if n > uint64(p.budget) {
		return p.errLimit(off, "strings and data expand beyond the input")
	}
	p.budget -= int(n)
	return nil
}

// object appends the XML of object ref.
func (p *bplist) object(ref uint64) error {
	p.values++
	if p.values > p.lim.MaxValues {
		return p.errLimit(0, "more than MaxValues values")
	}
	off, err := p.offset(ref)
	if err != nil {
		return err
	}
	marker := p.data[off]
	info := marker & 0x0F
	switch marker >> 4 {
	case 0x0:
		switch marker {
		case 0x08:
			p.out = append(p.out, "<false/>"...)
			return nil
		case 0x09:
			p.out = append(p.out, "<true/>"...)
			return nil
		}
		return p.errSyntax(off, "unexpected null or fill")
	case 0x1:
		return p.integer(off, info)
	case 0x2:
		if info != 2 && info != 3 {
			return p.errSyntax(off, "bad real size")
		}
		b, err := p.bytesAt(off+1, 1<<info)
		if err != nil {
			return err
		}
		var f float64
		if info == 2 {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		p.out = appendReal(p.out, f, 64)
		return nil
	case 0x3:
		if info != 3 {
			return p.errSyntax(off, "bad date size")
		}
		b, err := p.bytesAt(off+1, 8)
		if err != nil {
			return err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(b))
		if !(math.Abs(f) < 1e12) {
			return p.errSyntax(off, "date out of range")
		}
		t := time.Unix(appleEpochSec+int64(math.Floor(f)), 0)
		if p.out, err = appendDate(p.out, t); err != nil {
			return p.errSyntax(off, "date out of range")
		}
		return nil
	case 0x4:
		n, start, err := p.length(off)
		if err != nil {
			return err
		}
		b, err := p.bytesAt(start, n)
		if err != nil {
			return err
		}
		if err := p.spend(off, n); err != nil {
			return err
		}
		p.out = appendData(p.out, b)
		return nil
	case 0x5, 0x6:
		p.out = append(p.out, "<string>"...)
		if err := p.str(off); err != nil {
			return err
		}
		p.out = append(p.out, "</string>"...)
		return nil
	case 0x8:
		b, err := p.bytesAt(off+1, uint64(info)+1)
		if err != nil {
			return err
		}
		if len(b) > 8 {
			return p.errSyntax(off, "bad UID size")
		}
		p.out = append(p.out, "<dict><key>CF$UID</key><integer>"...)
		p.out = strconv.AppendUint(p.out, readUint(b), 10)
		p.out = append(p.out, "</integer></dict>"...)
		return nil
	case 0xA, 0xC, 0xD:
		return p.container(ref, off)
	}
	return p.errSyntax(off, "unknown object type")
}

func (p *bplist) integer(off int, info byte) error {
	if info > 4 {
		return p.errSyntax(off, "bad integer size")
	}
	b, err := p.bytesAt(off+1, 1<<info)
	if err != nil {
		return err
	}
	p.out = append(p.out, "<integer>"...)
	switch len(b) {
	case 8:
		p.out = strconv.AppendInt(p.out, int64(binary.BigEndian.Uint64(b)), 10)
	case 16:
		// 128-bit integers carry values beyond int64; the high half must
		// be a sign extension or zero.
		hi, lo := binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
		switch {
		case hi == 0:
			p.out = strconv.AppendUint(p.out, lo, 10)
		case hi == math.MaxUint64 && lo>>63 == 1:
			p.out = strconv.AppendInt(p.out, int64(lo), 10)
		default:
			return p.errSyntax(off, "integer out of range")
		}
	default:
		p.out = strconv.AppendUint(p.out, readUint(b), 10)
	}
	p.out = append(p.out, "</integer>"...)
	return nil
}

// str appends the escaped text of the string object at off.
func (p *bplist) str(off int) error {
	if k := p.data[off] >> 4; k != 0x5 && k != 0x6 {
		return p.errSyntax(off, "dict key is not a string")
	}
	n, start, err := p.length(off)
	if err != nil {
		return err
	}
	if p.data[off]>>4 == 0x5 {
		b, err := p.bytesAt(start, n)
		if err != nil {
			return err
		}
		if err := p.spend(off, n); err != nil {
			return err
		}
		for _, c := range b {
			if c >= 0x80 {
				return p.errSyntax(off, "non-ASCII byte in ASCII string")
			}
			if p.out, err = p.appendRune(off, rune(c)); err != nil {
				return err
			}
		}
		return nil
	}
	if n > math.MaxInt64/2 {
		return p.errSyntax(off, "string runs past the object area")
	}
	b, err := p.bytesAt(start, 2*n)
	if err != nil {
		return err
	}
	if err := p.spend(off, 2*n); err != nil {
		return err
	}
	for i := 0; i < len(b); i += 2 {
		r := rune(binary.BigEndian.Uint16(b[i:]))
		if utf16.IsSurrogate(r) {
			var r2 rune
			if i+2 < len(b) {
				r2 = rune(binary.BigEndian.Uint16(b[i+2:]))
			}
			if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
				return p.errSyntax(off, "unpaired surrogate in string")
			}
			i += 2
		}
		if p.out, err = p.appendRune(off, r); err != nil {
			return err
		}
	}
	return nil
}

// appendRune appends r escaped as XML character data.
func (p *bplist) appendRune(off int, r rune) ([]byte, error) {
	switch r {
	case '&':
		return append(p.out, "&amp;"...), nil
	case '<':
		return append(p.out, "&lt;"...), nil
	case '>':
		return append(p.out, "&gt;"...), nil
	case '\r':
		return append(p.out, "&#13;"...), nil
	}
	if !isXMLChar(r) {
		return p.out, p.errSyntax(off, "string holds a character XML cannot carry")
	}
	return utf8.AppendRune(p.out, r), nil
}

// container appends an array, set (written as an array) or dict.
func (p *bplist) container(ref uint64, off int) error {
	if p.onPath[ref/64]&(1<<(ref%64)) != 0 {
		return p.errSyntax(off, "container contains itself")
	}
	p.depth++
	if p.depth > p.lim.MaxDepth {
		return p.errLimit(off, "nested deeper than MaxDepth")
	}
	p.onPath[ref/64] |= 1 << (ref % 64)
	defer func() {
		p.onPath[ref/64] &^= 1 << (ref % 64)
		p.depth--
	}()
	n, start, err := p.length(off)
	if err != nil {
		return err
	}
	isDict := p.data[off]>>4 == 0xD
	count := n
	if isDict {
		if n > math.MaxInt64/2 {
			return p.errSyntax(off, "container runs past the object area")
		}
		count = 2 * n
	}
	refs, err := p.refs(start, count)
	if err != nil {
		return err
	}
	if !isDict {
		p.out = append(p.out, "<array>"...)
		for i := 0; i < int(n); i++ {
			r, err := p.ref(refs, i, off)
			if err != nil {
				return err
			}
			if p.isNull(r) {
				continue
			}
			if err := p.object(r); err != nil {
				return withIndex(err, i)
			}
		}
		p.out = append(p.out, "</array>"...)
		return nil
	}
	p.out = append(p.out, "<dict>"...)
	for i := 0; i < int(n); i++ {
		k, err := p.ref(refs, i, off)
		if err != nil {
			return err
		}
		v, err := p.ref(refs, int(n)+i, off)
		if err != nil {
			return err
		}
		if p.isNull(v) {
			continue
		}
		koff, err := p.offset(k)
		if err != nil {
			return err
		}
		p.out = append(p.out, "<key>"...)
		keyStart := len(p.out)
		if err := p.str(koff); err != nil {
			return err
		}
		keyEnd := len(p.out)
		p.out = append(p.out, "</key>"...)
		if err := p.object(v); err != nil {
			return withKey(err, p.out[keyStart:keyEnd])
		}
	}
	p.out = append(p.out, "</dict>"...)
	return nil
}
