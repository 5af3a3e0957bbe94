package certutil

import (
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
)

// RandomSerial returns a positive 128-bit serial number whose first octet
// is never zero, so its DER form is always 16 octets (RFC 5280 allows 20).
func RandomSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x40
	return new(big.Int).SetBytes(b), nil
}

// SubjectKeyID returns the key identifier of a DER SubjectPublicKeyInfo:
// the SHA-1 of its subjectPublicKey bits (RFC 5280 section 4.2.1.2, method
// 1), or of the whole SPKI if it does not parse.
func SubjectKeyID(spki []byte) []byte {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &info); err != nil || len(rest) != 0 {
		d := sha1.Sum(spki)
		return d[:]
	}
	d := sha1.Sum(info.PublicKey.Bytes)
	return d[:]
}
