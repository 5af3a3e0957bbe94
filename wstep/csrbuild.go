package wstep

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"sort"
	"strings"
)

// CSROptions adjusts CreateCSR. A nil *CSROptions means the zero value: a
// request shaped like the one Windows sends.
type CSROptions struct {
	// CommonName, when set, replaces "<prefix>!<deviceID>" as the subject
	// common name. Unless PlainSubject is set it is still written the
	// Windows way: a PrintableString (a UTF8String if it has characters a
	// PrintableString cannot hold even tolerantly) followed by a NUL.
	CommonName string
	// PlainSubject writes the common name as a UTF8String without a NUL:
	// CommonName when set, else deviceID. Requests from Go and OpenSSL
	// clients look like this.
	PlainSubject bool
	// Hash is the signature hash. Zero means what Windows uses: SHA-1 with
	// the OIW sha1WithRSA identifier (1.3.14.3.2.29) for RSA keys, and
	// SHA-256 for ECDSA keys. RSA keys also take SHA-256, SHA-384 and
	// SHA-512 (shaNNNWithRSAEncryption); ECDSA keys SHA-1, SHA-384 and
	// SHA-512. Ed25519 keys need zero.
	Hash crypto.Hash
	// Attributes are added after the extension request, for example the
	// renewal certificate attribute 1.3.6.1.4.1.311.13.1 that [MS-WCCE]
	// 3.1.1.4.3.2 puts in renewal requests. Each value is written from its
	// FullBytes, or from Class, Tag and Bytes when FullBytes is empty.
	Attributes []CSRAttribute
}

// CreateCSR builds and signs a PKCS #10 request for deviceID shaped like the
// one Windows 10 and 11 send: subject CN "<prefix>!<deviceID>" as a
// PrintableString ending in a NUL, the prefix an upper-case GUID read from
// rand and cut so that the value with its NUL fits 64 characters (as
// Windows does); an extensionRequest attribute with the extension
// 1.3.6.1.4.1.311.66.1.0 whose value is the characters of deviceID and a
// NUL; and a sha1WithRSA (OIW identifier) or ecdsa-with-SHA256 signature.
// opts may be nil. rand supplies the prefix and the signature's randomness.
func CreateCSR(rand io.Reader, key crypto.Signer, deviceID string, opts *CSROptions) ([]byte, error) {
	var o CSROptions
	if opts != nil {
		o = *opts
	}
	if key == nil {
		return nil, csrError("no signing key")
	}
	if deviceID == "" || strings.ContainsRune(deviceID, 0) || strings.ContainsRune(o.CommonName, 0) {
		return nil, csrError("device ID must be non-empty and the names must not contain NUL")
	}
	sigAlg, h, err := csrBuildSigAlg(key.Public(), o.Hash)
	if err != nil {
		return nil, err
	}
	cn := o.CommonName
	switch {
	case o.PlainSubject:
		if cn == "" {
			cn = deviceID
		}
	case cn == "":
		var g [16]byte
		if _, err := io.ReadFull(rand, g[:]); err != nil {
			return nil, csrError("reading randomness: %v", err)
		}
		prefix := fmt.Sprintf("%08X-%04X-%04X-%04X-%012X", g[0:4], g[4:6], g[6:8], g[8:10], g[10:16])
		// 64 characters in all with "!" and the NUL, as Windows cuts it,
		// but never less than the first group.
		n := max(8, min(len(prefix), 64-2-len(deviceID)))
		cn = prefix[:n] + "!" + deviceID
	}
	var cnValue []byte
	switch {
	case o.PlainSubject:
		cnValue = derAppendTLV(nil, 0x0c, []byte(cn))
	case csrPrintable(cn):
		cnValue = derAppendTLV(nil, 0x13, append([]byte(cn), 0))
	default:
		cnValue = derAppendTLV(nil, 0x0c, append([]byte(cn), 0))
	}
	atv := derAppendTLV(nil, 0x30, append(csrMustMarshal(oidCSRCommonName), cnValue...))
	subject := derAppendTLV(nil, 0x30, derAppendTLV(nil, 0x31, atv))

	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, csrError("public key: %v", err)
	}

	ext := csrMustMarshal(oidCSRDeviceID)
	ext = derAppendTLV(ext, 0x04, append([]byte(deviceID), 0))
	exts := derAppendTLV(nil, 0x30, derAppendTLV(nil, 0x30, ext))
	attrs := []CSRAttribute{{Type: oidCSRExtensionRequest, Values: []asn1.RawValue{{FullBytes: exts}}}}
	attrs = append(attrs, o.Attributes...)
	attrSet, err := csrMarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}

	tbs := csrMarshalTBS(subject, spki, attrSet)
	var sig []byte
	if h == 0 {
		sig, err = key.Sign(rand, tbs, crypto.Hash(0))
	} else {
		d := h.New()
		d.Write(tbs)
		sig, err = key.Sign(rand, d.Sum(nil), h)
	}
	if err != nil {
		return nil, csrError("signing: %v", err)
	}
	return csrMarshal(tbs, sigAlg, sig), nil
}

// csrBuildSigAlg picks the AlgorithmIdentifier (DER) and hash for a key.
func csrBuildSigAlg(pub crypto.PublicKey, h crypto.Hash) ([]byte, crypto.Hash, error) {
	null := []byte{0x05, 0x00}
	var oid asn1.ObjectIdentifier
	var params []byte
	switch pub.(type) {
	case *rsa.PublicKey:
		params = null
		switch h {
		case 0, crypto.SHA1:
			oid, h = oidSigSHA1WithRSAOIW, crypto.SHA1
		case crypto.SHA256:
			oid = oidSigSHA256WithRSA
		case crypto.SHA384:
			oid = oidSigSHA384WithRSA
		case crypto.SHA512:
			oid = oidSigSHA512WithRSA
		}
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA1:
			oid = oidSigECDSAWithSHA1
		case 0, crypto.SHA256:
			oid, h = oidSigECDSAWithSHA256, crypto.SHA256
		case crypto.SHA384:
			oid = oidSigECDSAWithSHA384
		case crypto.SHA512:
			oid = oidSigECDSAWithSHA512
		}
	case ed25519.PublicKey:
		if h == 0 {
			oid = oidSigEd25519
		}
	default:
		return nil, 0, csrError("unsupported key type %T", pub)
	}
	if oid == nil {
		return nil, 0, csrError("hash %v is not supported with a %T key", h, pub)
	}
	return derAppendTLV(nil, 0x30, append(csrMustMarshal(oid), params...)), h, nil
}

// csrMarshalAttributes encodes the [0] IMPLICIT SET OF Attribute, sorted as
// DER requires.
func csrMarshalAttributes(attrs []CSRAttribute) ([]byte, error) {
	enc := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		var vals []byte
		for _, v := range a.Values {
			b, err := asn1.Marshal(v)
			if err != nil {
				return nil, csrError("attribute %v: %v", a.Type, err)
			}
			vals = append(vals, b...)
		}
		t, err := asn1.Marshal(a.Type)
		if err != nil {
			return nil, csrError("attribute type: %v", err)
		}
		enc = append(enc, derAppendTLV(nil, 0x30, derAppendTLV(t, 0x31, vals)))
	}
	sort.Slice(enc, func(i, j int) bool { return bytes.Compare(enc[i], enc[j]) < 0 })
	return derAppendTLV(nil, 0xa0, bytes.Join(enc, nil)), nil
}

// csrMarshalTBS encodes CertificationRequestInfo (version 0) from the DER
// subject, SubjectPublicKeyInfo and [0] attributes.
func csrMarshalTBS(subject, spki, attrs []byte) []byte {
	body := []byte{0x02, 0x01, 0x00}
	body = append(body, subject...)
	body = append(body, spki...)
	body = append(body, attrs...)
	return derAppendTLV(nil, 0x30, body)
}

// csrMarshal encodes CertificationRequest from its signed part, signature
// AlgorithmIdentifier and signature octets.
func csrMarshal(tbs, sigAlg, sig []byte) []byte {
	body := append(append([]byte{}, tbs...), sigAlg...)
	body = derAppendTLV(body, 0x03, append([]byte{0}, sig...))
	return derAppendTLV(nil, 0x30, body)
}

// csrPrintable reports whether s fits a PrintableString as Windows writes
// it: the X.680 PrintableString characters and '!'.
func csrPrintable(s string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune(" '()+,-./:=?!", r):
		default:
			return false
		}
	}
	return true
}

// csrMustMarshal encodes an object identifier built into this package.
func csrMustMarshal(oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		panic("wstep: marshal of a fixed object identifier: " + err.Error())
	}
	return b
}
