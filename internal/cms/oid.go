package cms

import (
	"crypto"
	"encoding/asn1"
	"fmt"
)

// Object identifiers used by CMS and the algorithms this package supports.
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}

	OIDAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAESOAEP       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}
	oidRSASSAPSS       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA1WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA224WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidDESCBC    = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
	oidDESEDE3   = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidAES128CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}

	oidSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}
)

var digestOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidSHA1, crypto.SHA1},
	{oidSHA224, crypto.SHA224},
	{oidSHA256, crypto.SHA256},
	{oidSHA384, crypto.SHA384},
	{oidSHA512, crypto.SHA512},
}

// HashFromOID maps a digest algorithm identifier to its hash. MD5 and
// anything unknown give an error wrapping ErrUnsupportedAlgorithm.
func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	for _, d := range digestOIDs {
		if d.oid.Equal(oid) {
			return d.hash, nil
		}
	}
	if oid.Equal(oidMD5) {
		return 0, fmt.Errorf("%w: MD5 digest", ErrUnsupportedAlgorithm)
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupportedAlgorithm, oid)
}

// OIDFromHash is the inverse of HashFromOID.
func OIDFromHash(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	for _, d := range digestOIDs {
		if d.hash == h {
			return d.oid, nil
		}
	}
	return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
}

// hashFromSignatureOID returns the hash named by a combined signature
// algorithm identifier, or 0 for identifiers that name only the key type.
func hashFromSignatureOID(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(oidSHA1WithRSA), oid.Equal(oidECDSAWithSHA1):
		return crypto.SHA1
	case oid.Equal(oidSHA224WithRSA), oid.Equal(oidECDSAWithSHA224):
		return crypto.SHA224
	case oid.Equal(oidSHA256WithRSA), oid.Equal(oidECDSAWithSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384WithRSA), oid.Equal(oidECDSAWithSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512WithRSA), oid.Equal(oidECDSAWithSHA512):
		return crypto.SHA512
	}
	return 0
}

func ecdsaSignatureOID(h crypto.Hash) asn1.ObjectIdentifier {
	switch h {
	case crypto.SHA1:
		return oidECDSAWithSHA1
	case crypto.SHA224:
		return oidECDSAWithSHA224
	case crypto.SHA384:
		return oidECDSAWithSHA384
	case crypto.SHA512:
		return oidECDSAWithSHA512
	}
	return oidECDSAWithSHA256
}
