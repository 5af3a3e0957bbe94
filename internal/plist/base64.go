package plist

import "bytes"

// Base64 for <data>. Apple wraps and indents the text with tabs and
// newlines, which encoding/base64 does not skip, so this decoder skips
// whitespace itself and decodes in the same pass. Padding is optional.

// b64Table maps a byte to its 6-bit value, or to b64Space for whitespace,
// b64Pad for '=', and b64Bad for anything else.
const b64Table = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xfe\xff\xff\xfe\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3e\xff\xff\xff\x3f" +
	"\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\xff\xff\xff\xfd\xff\xff" +
	"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e" +
	"\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\xff\xff\xff\xff\xff" +
	"\xff\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27\x28" +
	"\x29\x2a\x2b\x2c\x2d\x2e\x2f\x30\x31\x32\x33\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

const (
	b64Pad   = 0xFD
	b64Space = 0xFE
)

// decodeBase64 decodes all of src, which may hold whitespace anywhere and
// may lack its padding. It reports false for anything else.
func decodeBase64(src []byte) ([]byte, bool) {
	dst := make([]byte, 0, len(src)/4*3+3)
	var acc uint32
	n, pad := 0, 0 // sextets in acc, '=' seen
	for i := 0; i < len(src); i++ {
		// Most of the text is whole quanta between line breaks.
		if n == 0 && i+4 <= len(src) {
			a, b, c, e := b64Table[src[i]], b64Table[src[i+1]], b64Table[src[i+2]], b64Table[src[i+3]]
			if a|b|c|e < 64 && pad == 0 {
				x := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(e)
				dst = append(dst, byte(x>>16), byte(x>>8), byte(x))
				i += 3
				continue
			}
		}
		v := b64Table[src[i]]
		switch {
		case v < 64:
			if pad > 0 {
				return nil, false
			}
			acc = acc<<6 | uint32(v)
			if n++; n == 4 {
				dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
				acc, n = 0, 0
			}
		case v == b64Space:
		case v == b64Pad:
			pad++
		default:
			return nil, false
		}
	}
	switch {
	case n == 0 && pad == 0:
	case n == 2 && (pad == 0 || pad == 2):
		dst = append(dst, byte(acc>>4))
	case n == 3 && (pad == 0 || pad == 1):
		dst = append(dst, byte(acc>>10), byte(acc>>2))
	default:
		return nil, false
	}
	return dst, true
}

// dataValue reads the contents of a <data> element after its start tag. The
// common case, plain base64 and whitespace up to </data>, is decoded
// straight from the input; references, comments or CDATA take the general
// path through text.
func (d *decoder) dataValue(start int, empty bool) ([]byte, error) {
	if empty {
		return []byte{}, nil
	}
	s := d.data[d.pos:]
	lt := bytes.IndexByte(s, '<')
	if lt >= 0 && bytes.IndexByte(s[:lt], '&') < 0 {
		if end, ok := endTag(d.data, d.pos+lt, "data"); ok {
			if lt/4*3 > d.lim.MaxValueBytes+3 {
				return nil, d.errLimit(start, "value larger than MaxValueBytes")
			}
			b, ok := decodeBase64(s[:lt])
			if !ok {
				return nil, d.errSyntax(start, "malformed base64 in <data>")
			}
			d.pos = end
			return b, d.checkSize(start, len(b))
		}
	}
	text, err := d.text("data")
	if err != nil {
		return nil, err
	}
	b, ok := decodeBase64(text)
	if !ok {
		return nil, d.errSyntax(start, "malformed base64 in <data>")
	}
	return b, d.checkSize(start, len(b))
}
