package wstep

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// SignCertificateAuth returns the content of a wsse:Security element for
// certificate authentication: a BinarySecurityToken carrying cert, a
// u:Timestamp (u:Id "_0") from created to expires in UTC, and a
// ds:Signature over the Timestamp (exclusive C14N, SHA-256 digest,
// rsa-sha256 for an RSA key or ecdsa-sha256 for an ECDSA key) whose KeyInfo
// refers to the token. Every element declares the namespaces it uses, so
// the output may be placed in any wsse:Security element (Security.Raw).
// key must belong to cert; ECDSA signing reads crypto/rand.
func SignCertificateAuth(cert *x509.Certificate, key crypto.Signer, created, expires time.Time) ([]byte, error) {
	if cert == nil || key == nil {
		return nil, errors.New("wstep: certificate authentication needs a certificate and its key")
	}
	if !expires.After(created) {
		return nil, errors.New("wstep: timestamp expires before it is created")
	}
	if created.UTC().Year() < 1 || expires.UTC().Year() > 9999 {
		return nil, errors.New("wstep: timestamp outside the years 1 to 9999")
	}
	pub := key.Public()
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(cert.PublicKey) {
		return nil, errors.New("wstep: key does not belong to the certificate")
	}
	var method string
	ecSize := 0
	switch p := pub.(type) {
	case *rsa.PublicKey:
		method = algRSASHA256
	case *ecdsa.PublicKey:
		method = algECDSASHA256
		ecSize = (p.Curve.Params().BitSize + 7) / 8
	default:
		return nil, errors.New("wstep: certificate authentication needs an RSA or ECDSA key")
	}
	const layout = "2006-01-02T15:04:05.000Z"
	fp := sha256.Sum256(cert.Raw)
	tokenID := "X509-" + hex.EncodeToString(fp[:8])

	// Both signed parts are written in their canonical form, so what is
	// hashed here is what a verifier's canonicalization produces.
	ts := `<u:Timestamp xmlns:u="` + NSUtility + `" u:Id="_0"><u:Created>` +
		created.UTC().Format(layout) + `</u:Created><u:Expires>` +
		expires.UTC().Format(layout) + `</u:Expires></u:Timestamp>`
	digest := sha256.Sum256([]byte(ts))
	si := `<ds:SignedInfo xmlns:ds="` + NSDSig + `">` +
		`<ds:CanonicalizationMethod Algorithm="` + algExcC14N + `"></ds:CanonicalizationMethod>` +
		`<ds:SignatureMethod Algorithm="` + method + `"></ds:SignatureMethod>` +
		`<ds:Reference URI="#_0"><ds:Transforms><ds:Transform Algorithm="` + algExcC14N + `"></ds:Transform></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="` + algSHA256 + `"></ds:DigestMethod>` +
		`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
	sum := sha256.Sum256([]byte(si))
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("wstep: signing the timestamp: %w", err)
	}
	if ecSize > 0 {
		if sig, err = ecdsaRawSignature(sig, ecSize); err != nil {
			return nil, err
		}
	}

	var b strings.Builder
	b.WriteString(`<wsse:BinarySecurityToken xmlns:u="` + NSUtility + `" xmlns:wsse="` + NSSecExt + `" u:Id="` + tokenID +
		`" ValueType="` + ValueTypeX509v3 + `" EncodingType="` + EncodingBase64 + `">`)
	b.WriteString(base64.StdEncoding.EncodeToString(cert.Raw))
	b.WriteString(`</wsse:BinarySecurityToken>`)
	b.WriteString(ts)
	b.WriteString(`<ds:Signature xmlns:ds="` + NSDSig + `">`)
	b.WriteString(si)
	b.WriteString(`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sig) + `</ds:SignatureValue>`)
	b.WriteString(`<ds:KeyInfo><wsse:SecurityTokenReference xmlns:wsse="` + NSSecExt + `"><wsse:Reference URI="#` + tokenID +
		`" ValueType="` + ValueTypeX509v3 + `"></wsse:Reference></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>`)
	return []byte(b.String()), nil
}

// ecdsaRawSignature turns an ASN.1 ECDSA signature into XML Signature's
// r||s form.
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.R == nil || v.S == nil || v.R.Sign() <= 0 || v.S.Sign() <= 0 ||
		v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, errors.New("wstep: signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}
