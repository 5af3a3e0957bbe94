package cms

import (
	"errors"
	"fmt"
)

// maxBERDepth bounds the nesting of BER input. CMS messages used by SCEP and
// MDM nest about a dozen levels; 64 leaves room for certificate extensions.
const maxBERDepth = 64

var errBER = errors.New("cms: malformed BER")

// ToDER rewrites a BER encoding as DER lengths: indefinite lengths become
// definite, long-form lengths become minimal, and constructed OCTET STRING
// and BIT STRING values are flattened into primitive ones. Element order
// inside SETs is kept as received, because signatures are computed over the
// bytes the signer produced, not over a re-sorted set. Input that is already
// DER comes back byte for byte. Trailing bytes after the first element are
// an error.
func ToDER(b []byte) ([]byte, error) {
	// Almost every message is DER already. Rebuilding it copies each element
	// once per nesting level (about 50 KB of garbage for one SCEP request),
	// so check first and return a single copy when nothing needs rewriting.
	// Anything else, including every error, takes the full path.
	if n, ok := derLen(b, 0); ok && n == len(b) {
		return append([]byte(nil), b...), nil
	}
	out, rest, err := berElement(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBER, len(rest))
	}
	return out, nil
}

// berHeader reads an identifier and a length. length is -1 for the
// indefinite form.
func berHeader(b []byte) (id []byte, constructed bool, tag int, length int, rest []byte, err error) {
	if len(b) < 2 {
		return nil, false, 0, 0, nil, fmt.Errorf("%w: truncated header", errBER)
	}
	i := 1
	constructed = b[0]&0x20 != 0
	tag = int(b[0] & 0x1f)
	if tag == 0x1f {
		tag = 0
		for {
			if i >= len(b) || i > 4 {
				return nil, false, 0, 0, nil, fmt.Errorf("%w: bad tag", errBER)
			}
			c := b[i]
			i++
			tag = tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		// X.690 8.1.2: numbers below 31 use the one-octet form and the
		// first subsequent octet is never 0x80. Accepting either would
		// make the flattening below emit a truncated identifier.
		if tag < 0x1f || b[1] == 0x80 {
			return nil, false, 0, 0, nil, fmt.Errorf("%w: non-minimal tag", errBER)
		}
	}
	id = b[:i]
	if i >= len(b) {
		return nil, false, 0, 0, nil, fmt.Errorf("%w: truncated length", errBER)
	}
	l := b[i]
	i++
	switch {
	case l < 0x80:
		length = int(l)
	case l == 0x80:
		if !constructed {
			return nil, false, 0, 0, nil, fmt.Errorf("%w: indefinite length on primitive", errBER)
		}
		length = -1
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(b) {
			return nil, false, 0, 0, nil, fmt.Errorf("%w: bad length", errBER)
		}
		for _, c := range b[i : i+n] {
			length = length<<8 | int(c)
		}
		i += n
		if length < 0 {
			return nil, false, 0, 0, nil, fmt.Errorf("%w: bad length", errBER)
		}
	}
	rest = b[i:]
	if length > len(rest) {
		return nil, false, 0, 0, nil, fmt.Errorf("%w: length %d exceeds input", errBER, length)
	}
	return id, constructed, tag, length, rest, nil
}

func berElement(b []byte, depth int) (out, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("%w: nested deeper than %d", errBER, maxBERDepth)
	}
	id, constructed, tag, length, rest, err := berHeader(b)
	if err != nil {
		return nil, nil, err
	}
	universal := id[0]&0xc0 == 0
	if !constructed {
		return appendTLV(nil, id, rest[:length]), rest[length:], nil
	}
	var body []byte
	var children [][]byte
	if length >= 0 {
		inner := rest[:length]
		rest = rest[length:]
		for len(inner) > 0 {
			var child []byte
			child, inner, err = berElement(inner, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, child)
		}
	} else {
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
			if len(rest) == 0 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			var child []byte
			child, rest, err = berElement(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			children = append(children, child)
		}
	}
	if universal && (tag == 4 || tag == 3) {
		flat, err := flattenString(tag, children)
		if err != nil {
			return nil, nil, err
		}
		return appendTLV(nil, []byte{id[0] &^ 0x20}, flat), rest, nil
	}
	for _, c := range children {
		body = append(body, c...)
	}
	return appendTLV(nil, id, body), rest, nil
}

// derLen reports the length of the first element of b when berElement
// would return it unchanged: every length definite and minimal, and no
// constructed universal OCTET STRING or BIT STRING. ok is false otherwise,
// and for input berElement rejects.
func derLen(b []byte, depth int) (n int, ok bool) {
	if depth > maxBERDepth {
		return 0, false
	}
	id, constructed, tag, length, rest, err := berHeader(b)
	if err != nil || length < 0 {
		return 0, false
	}
	hdr := len(b) - len(rest)
	if hdr != len(id)+lengthSize(length) {
		return 0, false // non-minimal length octets
	}
	if constructed {
		if id[0]&0xc0 == 0 && (tag == 4 || tag == 3) {
			return 0, false
		}
		for inner := rest[:length]; len(inner) > 0; {
			c, ok := derLen(inner, depth+1)
			if !ok {
				return 0, false
			}
			inner = inner[c:]
		}
	}
	return hdr + length, true
}

// flattenString joins the segments of a constructed OCTET STRING (tag 4) or
// BIT STRING (tag 3). Each child is already DER, so it is primitive.
func flattenString(tag int, children [][]byte) ([]byte, error) {
	var out []byte
	if tag == 3 {
		out = append(out, 0)
	}
	for i, c := range children {
		_, constructed, ctag, l, rest, err := berHeader(c)
		if err != nil {
			return nil, err
		}
		if constructed || ctag != tag || c[0]&0xc0 != 0 {
			return nil, fmt.Errorf("%w: bad segment in constructed string", errBER)
		}
		seg := rest[:l]
		if tag == 3 {
			if len(seg) == 0 {
				return nil, fmt.Errorf("%w: empty bit string segment", errBER)
			}
			if seg[0] != 0 && i != len(children)-1 {
				return nil, fmt.Errorf("%w: unused bits in inner bit string segment", errBER)
			}
			out[0] = seg[0]
			seg = seg[1:]
		}
		out = append(out, seg...)
	}
	return out, nil
}

// appendTLV appends a DER identifier, minimal length and content.
func appendTLV(dst, id, content []byte) []byte {
	dst = append(dst, id...)
	dst = appendLength(dst, len(content))
	return append(dst, content...)
}

// lengthSize is the number of octets appendLength writes for n.
func lengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	default:
		return 5
	}
}

func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
