package wstep

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	_ "crypto/sha1"   // SHA-1 signatures are what Windows sends
	_ "crypto/sha256" // SHA-256 signatures
	_ "crypto/sha512" // SHA-384 and SHA-512 signatures
	"crypto/x509"
	"encoding/asn1"
	"errors"
)

// The RSA modulus sizes CheckSignature accepts. The upper bound keeps a
// request from costing more than a few milliseconds to verify: a 64 KiB
// request could otherwise carry a 500 000-bit modulus that takes seconds.
const (
	csrMinRSABits = 1024
	csrMaxRSABits = 16384
)

// Signature algorithm identifiers a certificate request may use.
var (
	oidSigMD2WithRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 2}
	oidSigMD5WithRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}
	oidSigSHA1WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSigSHA1WithRSAOIW  = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 29}
	oidSigRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSigSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSigSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSigSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSigECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidSigECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSigECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidSigECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSigEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidCSRHashSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidCSRHashSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidCSRHashSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidCSRHashSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidCSRMGF1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

// csrSigAlgs maps the identifiers whose meaning does not depend on
// parameters (all but RSASSA-PSS).
var csrSigAlgs = []struct {
	oid  asn1.ObjectIdentifier
	alg  x509.SignatureAlgorithm
	hash crypto.Hash
}{
	{oidSigMD2WithRSA, x509.MD2WithRSA, 0},
	{oidSigMD5WithRSA, x509.MD5WithRSA, crypto.MD5},
	{oidSigSHA1WithRSA, x509.SHA1WithRSA, crypto.SHA1},
	{oidSigSHA1WithRSAOIW, x509.SHA1WithRSA, crypto.SHA1},
	{oidSigSHA256WithRSA, x509.SHA256WithRSA, crypto.SHA256},
	{oidSigSHA384WithRSA, x509.SHA384WithRSA, crypto.SHA384},
	{oidSigSHA512WithRSA, x509.SHA512WithRSA, crypto.SHA512},
	{oidSigECDSAWithSHA1, x509.ECDSAWithSHA1, crypto.SHA1},
	{oidSigECDSAWithSHA256, x509.ECDSAWithSHA256, crypto.SHA256},
	{oidSigECDSAWithSHA384, x509.ECDSAWithSHA384, crypto.SHA384},
	{oidSigECDSAWithSHA512, x509.ECDSAWithSHA512, crypto.SHA512},
	{oidSigEd25519, x509.PureEd25519, 0},
}

// csrSignatureAlgorithm names the algorithm of an identifier and its
// parameters; UnknownSignatureAlgorithm when it is not supported.
func csrSignatureAlgorithm(oid asn1.ObjectIdentifier, params []byte) x509.SignatureAlgorithm {
	if oid.Equal(oidSigRSAPSS) {
		p, err := csrParsePSS(params)
		if err != nil {
			return x509.UnknownSignatureAlgorithm
		}
		switch p.hash {
		case crypto.SHA256:
			return x509.SHA256WithRSAPSS
		case crypto.SHA384:
			return x509.SHA384WithRSAPSS
		case crypto.SHA512:
			return x509.SHA512WithRSAPSS
		}
		return x509.UnknownSignatureAlgorithm
	}
	for _, a := range csrSigAlgs {
		if a.oid.Equal(oid) {
			return a.alg
		}
	}
	return x509.UnknownSignatureAlgorithm
}

// CheckSignature verifies the request's self-signature over RawTBS with its
// own public key: RSA PKCS #1 v1.5 with SHA-1 (either identifier), SHA-256,
// SHA-384 or SHA-512; RSASSA-PSS with SHA-256, SHA-384 or SHA-512 (MGF1 with
// the same hash, the salt length given in the parameters); ECDSA with SHA-1,
// SHA-256, SHA-384 or SHA-512; and Ed25519. MD2 and MD5 signatures, RSA
// keys under 1024 bits and RSA keys over 16384 bits are refused.
func (c *CSR) CheckSignature() error {
	var h crypto.Hash
	var pss *csrPSSParams
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA:
		// crypto/x509 has the constant but no longer a name for it.
		return csrError("signature algorithm MD2-RSA is insecure and not accepted")
	case x509.MD5WithRSA:
		return csrError("signature algorithm %v is insecure and not accepted", c.SignatureAlgorithm)
	case x509.UnknownSignatureAlgorithm:
		return csrError("unsupported signature algorithm %v", c.sigAlgOID)
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		p, err := csrParsePSS(c.sigAlgParams)
		if err != nil {
			return csrError("RSASSA-PSS parameters: %v", err)
		}
		pss, h = &p, p.hash
	case x509.PureEd25519:
	default:
		for _, a := range csrSigAlgs {
			if a.oid.Equal(c.sigAlgOID) {
				h = a.hash
			}
		}
	}
	var digest []byte
	if h != 0 {
		d := h.New()
		d.Write(c.RawTBS)
		digest = d.Sum(nil)
	}
	switch pub := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if !csrIsRSA(c.SignatureAlgorithm) {
			return csrError("signature algorithm %v does not match an RSA key", c.SignatureAlgorithm)
		}
		if bits := pub.N.BitLen(); bits < csrMinRSABits {
			return csrError("RSA key of %d bits is too small (minimum %d)", bits, csrMinRSABits)
		} else if bits > csrMaxRSABits {
			return csrError("RSA key of %d bits is too large (maximum %d)", bits, csrMaxRSABits)
		}
		var err error
		if pss != nil {
			// A declared salt length of 0 is rsa.PSSSaltLengthAuto, which
			// accepts any length; every other value must match exactly.
			err = rsa.VerifyPSS(pub, h, digest, c.Signature, &rsa.PSSOptions{SaltLength: pss.saltLength, Hash: h})
		} else {
			err = rsa.VerifyPKCS1v15(pub, h, digest, c.Signature)
		}
		if err != nil {
			return csrError("signature does not verify: %v", err)
		}
	case *ecdsa.PublicKey:
		if !csrIsECDSA(c.SignatureAlgorithm) {
			return csrError("signature algorithm %v does not match an ECDSA key", c.SignatureAlgorithm)
		}
		if !ecdsa.VerifyASN1(pub, digest, c.Signature) {
			return csrError("signature does not verify")
		}
	case ed25519.PublicKey:
		if c.SignatureAlgorithm != x509.PureEd25519 {
			return csrError("signature algorithm %v does not match an Ed25519 key", c.SignatureAlgorithm)
		}
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, c.RawTBS, c.Signature) {
			return csrError("signature does not verify")
		}
	default:
		return csrError("unsupported public key type %T", c.PublicKey)
	}
	return nil
}

func csrIsRSA(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return true
	}
	return false
}

func csrIsECDSA(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return true
	}
	return false
}

// csrPSSParams are the RSASSA-PSS parameters this package verifies with.
type csrPSSParams struct {
	hash       crypto.Hash
	saltLength int
}

type csrPSSAlgID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type csrPSSParamsASN1 struct {
	Hash         csrPSSAlgID `asn1:"explicit,optional,tag:0"`
	MGF          csrPSSAlgID `asn1:"explicit,optional,tag:1"`
	SaltLength   int         `asn1:"explicit,optional,default:20,tag:2"`
	TrailerField int         `asn1:"explicit,optional,default:1,tag:3"`
}

// csrParsePSS reads RSASSA-PSS-params (RFC 4055 section 3.1). Absent
// fields take their defaults (SHA-1, MGF1 with SHA-1, salt 20); the mask
// generation function must be MGF1 with the message hash, which is the only
// form crypto/rsa implements.
func csrParsePSS(der []byte) (csrPSSParams, error) {
	var p csrPSSParamsASN1
	if len(der) > 0 {
		rest, err := asn1.Unmarshal(der, &p)
		if err != nil || len(rest) != 0 {
			return csrPSSParams{}, errors.New("malformed")
		}
	} else {
		p.SaltLength, p.TrailerField = 20, 1
	}
	h := crypto.SHA1
	if len(p.Hash.Algorithm) > 0 {
		var ok bool
		if h, ok = csrPSSHash(p.Hash.Algorithm); !ok {
			return csrPSSParams{}, errors.New("unsupported hash")
		}
	}
	mgfHash := crypto.SHA1
	if len(p.MGF.Algorithm) > 0 {
		if !p.MGF.Algorithm.Equal(oidCSRMGF1) {
			return csrPSSParams{}, errors.New("unsupported mask generation function")
		}
		var inner csrPSSAlgID
		if rest, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &inner); err != nil || len(rest) != 0 {
			return csrPSSParams{}, errors.New("malformed MGF1 parameters")
		}
		var ok bool
		if mgfHash, ok = csrPSSHash(inner.Algorithm); !ok {
			return csrPSSParams{}, errors.New("unsupported MGF1 hash")
		}
	}
	if mgfHash != h {
		return csrPSSParams{}, errors.New("MGF1 hash differs from the message hash")
	}
	if p.TrailerField != 1 || p.SaltLength < 0 {
		return csrPSSParams{}, errors.New("unsupported trailer field or salt length")
	}
	return csrPSSParams{hash: h, saltLength: p.SaltLength}, nil
}

func csrPSSHash(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidCSRHashSHA1):
		return crypto.SHA1, true
	case oid.Equal(oidCSRHashSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidCSRHashSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidCSRHashSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}
