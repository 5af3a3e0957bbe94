package wstep

import (
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A small DER reader and writer for the certificate request code. It exists
// because encoding/asn1 refuses what Windows sends (a PrintableString with
// '!' and a NUL) and cannot write such a string either. The reader walks one
// element at a time, so every loop over device-supplied elements is bounded
// by its caller.

// ASN.1 classes and universal tags used here.
const (
	derClassUniversal = 0
	derClassContext   = 2

	derTagBoolean         = 1
	derTagInteger         = 2
	derTagBitString       = 3
	derTagOctetString     = 4
	derTagNull            = 5
	derTagOID             = 6
	derTagUTF8String      = 12
	derTagSequence        = 16
	derTagSet             = 17
	derTagNumericString   = 18
	derTagPrintableString = 19
	derTagT61String       = 20
	derTagIA5String       = 22
	derTagVisibleString   = 26
	derTagGeneralString   = 27
	derTagUniversalString = 28
	derTagBMPString       = 30
)

var errDERTruncated = errors.New("truncated or malformed DER")

// derElement is one TLV: its identifier split into class, constructed bit and
// tag number, the whole encoding and the content octets.
type derElement struct {
	class       int
	constructed bool
	tag         int
	full, body  []byte
}

// is reports whether e has the given universal tag.
func (e derElement) is(tag int) bool { return e.class == derClassUniversal && e.tag == tag }

// derRead reads the first element of b. Long-form lengths need not be
// minimal (the bytes are kept as received, so signatures still verify), but
// the indefinite form and high tag numbers are refused: certificate requests
// are DER, and BER containers are normalised before they get here.
func derRead(b []byte) (derElement, []byte, error) {
	if len(b) < 2 {
		return derElement{}, nil, errDERTruncated
	}
	id := b[0]
	if id&0x1f == 0x1f {
		return derElement{}, nil, errors.New("high tag numbers are not supported")
	}
	n, off := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 {
			return derElement{}, nil, errors.New("indefinite length in DER")
		}
		if k > 4 || len(b) < 2+k {
			return derElement{}, nil, errDERTruncated
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		off += k
	}
	if n < 0 || n > len(b)-off {
		return derElement{}, nil, errDERTruncated
	}
	e := derElement{
		class:       int(id >> 6),
		constructed: id&0x20 != 0,
		tag:         int(id & 0x1f),
		full:        b[:off+n],
		body:        b[off : off+n],
	}
	return e, b[off+n:], nil
}

// derReadTag reads the first element of b and checks that it is a universal
// element with the given tag and constructed bit.
func derReadTag(b []byte, tag int, constructed bool) (derElement, []byte, error) {
	e, rest, err := derRead(b)
	if err != nil {
		return e, nil, err
	}
	if !e.is(tag) || e.constructed != constructed {
		return e, nil, errors.New("unexpected element")
	}
	return e, rest, nil
}

// derAppendTLV appends the element with identifier octet id and content c.
func derAppendTLV(dst []byte, id byte, c []byte) []byte {
	dst = append(dst, id)
	switch n := len(c); {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, c...)
}

// derString decodes the content of a string element of any ASN.1 string
// type. Invalid sequences become U+FFFD rather than errors: names are read
// best effort and the raw bytes stay available to the caller. ok is false
// when the tag is not a string type.
func derString(tag int, body []byte) (s string, ok bool) {
	switch tag {
	case derTagUTF8String:
		return strings.ToValidUTF8(string(body), "\uFFFD"), true
	case derTagPrintableString, derTagIA5String, derTagNumericString, derTagVisibleString:
		// Nominally ASCII; anything above 0x7f is read as Latin-1 like T61.
		return derLatin1(body), true
	case derTagT61String, derTagGeneralString:
		// T.61 is in practice Latin-1 (what Windows and OpenSSL write).
		return derLatin1(body), true
	case derTagBMPString:
		return derUTF16(body, binary.BigEndian), true
	case derTagUniversalString:
		var sb strings.Builder
		for len(body) >= 4 {
			r := rune(binary.BigEndian.Uint32(body))
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			sb.WriteRune(r)
			body = body[4:]
		}
		if len(body) > 0 {
			sb.WriteRune(utf8.RuneError)
		}
		return sb.String(), true
	}
	return "", false
}

func derLatin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func derUTF16(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, 0, len(b)/2)
	for len(b) >= 2 {
		u = append(u, order.Uint16(b))
		b = b[2:]
	}
	s := string(utf16.Decode(u))
	if len(b) > 0 {
		s += string(utf8.RuneError)
	}
	return s
}
