package wstep

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for rsa-sha1 and sha1 digests
	_ "crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"strings"
	"time"
)

// Algorithm identifiers of XML Signature used by certificate
// authentication ([MS-MDE2] 3.3.4.1.1.1.2, 3.4.4.1.1.1.2).
const (
	algExcC14N     = "http://www.w3.org/2001/10/xml-exc-c14n#" // also the InclusiveNamespaces namespace
	algSHA1        = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256      = "http://www.w3.org/2001/04/xmlenc#sha256"
	algRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
)

// Bounds on what a signature may list.
const (
	dsigMaxRefs     = 8
	dsigMaxPrefixes = 16
)

// signedInfo is a parsed ds:SignedInfo.
type signedInfo struct {
	node      *xnode
	inclusive []string
	method    string
	refs      []dsigRef
}

// dsigRef is a parsed ds:Reference with its target resolved.
type dsigRef struct {
	target    *xnode
	inclusive []string
	hash      crypto.Hash
	digest    []byte
}

// VerifyCertificateAuth checks the wsse:Security header of a raw request
// envelope for certificate authentication: a BinarySecurityToken holding
// an X.509 certificate (ValueType X509v3, or the MS-MDE2
// DeviceEnrollmentUserToken value), a u:Timestamp within
// [Created-skew, Expires+skew] at now, and a ds:Signature whose SignedInfo
// uses exclusive C14N (http://www.w3.org/2001/10/xml-exc-c14n#), references
// the Timestamp by its u:Id ("#id") with an exc-c14n transform and a SHA-1
// or SHA-256 digest, and is signed rsa-sha1, rsa-sha256 or ecdsa-sha256 by
// the certificate's key. Every Reference must verify and one must cover the
// Timestamp, which must be the only one in the header; a reference to an
// Id that two elements carry is refused, so a signed Timestamp cannot be
// moved aside for another. It returns the certificate and does not check
// its chain, validity period or key usage, nor replay within the window.
//
// Errors are *Fault: FaultInvalidSecurity for a missing or malformed part
// or an unsupported algorithm, FaultAuthentication for a digest or
// signature mismatch or a timestamp outside its window. The envelope is
// limited to 1 MiB, 32 levels and 20 000 tokens.
func VerifyCertificateAuth(envelope []byte, now time.Time, skew time.Duration) (*x509.Certificate, error) {
	if len(envelope) > dsigMaxBytes {
		return nil, faultf(FaultInvalidSecurity, "envelope too large")
	}
	doc, err := parseDoc(envelope)
	if err != nil {
		return nil, faultf(FaultInvalidSecurity, "envelope: %v", err)
	}
	sec, err := findSecurity(doc.root)
	if err != nil {
		return nil, err
	}
	ts, err := onlyChild(sec, NSUtility, "Timestamp", "u:Timestamp")
	if err != nil {
		return nil, err
	}
	created, expires, err := parseTimestamp(ts)
	if err != nil {
		return nil, err
	}
	sig, err := onlyChild(sec, NSDSig, "Signature", "ds:Signature")
	if err != nil {
		return nil, err
	}
	si, err := parseSignedInfo(doc, sig)
	if err != nil {
		return nil, err
	}
	covered := false
	for _, r := range si.refs {
		covered = covered || r.target == ts
	}
	if !covered {
		return nil, faultf(FaultInvalidSecurity, "signature does not cover the timestamp")
	}
	sv, err := onlyChild(sig, NSDSig, "SignatureValue", "ds:SignatureValue")
	if err != nil {
		return nil, err
	}
	sigValue, err := dsigBase64(textOf(sv))
	if err != nil || len(sigValue) == 0 {
		return nil, faultf(FaultInvalidSecurity, "malformed ds:SignatureValue")
	}
	cert, err := findCertificate(sec, sig)
	if err != nil {
		return nil, err
	}

	canonSI, err := canonicalize(si.node, si.inclusive)
	if err != nil {
		return nil, faultf(FaultInvalidSecurity, "ds:SignedInfo: %v", err)
	}
	if err := checkSignature(cert, si.method, canonSI, sigValue); err != nil {
		return nil, err
	}
	for _, r := range si.refs {
		canon, err := canonicalize(r.target, r.inclusive)
		if err != nil {
			return nil, faultf(FaultInvalidSecurity, "reference: %v", err)
		}
		h := r.hash.New()
		h.Write(canon)
		if subtle.ConstantTimeCompare(h.Sum(nil), r.digest) != 1 {
			return nil, faultf(FaultAuthentication, "digest mismatch")
		}
	}

	if skew < 0 {
		skew = 0
	}
	if now.Before(created.Add(-skew)) {
		return nil, faultf(FaultAuthentication, "timestamp not yet valid")
	}
	if now.After(expires.Add(skew)) {
		return nil, faultf(FaultAuthentication, "timestamp expired")
	}
	return cert, nil
}

// findSecurity returns the single wsse:Security child of s:Header.
func findSecurity(root *xnode) (*xnode, error) {
	if root.space != NSEnvelope || root.local != "Envelope" {
		return nil, faultf(FaultInvalidSecurity, "not a SOAP 1.2 envelope")
	}
	hdr, err := onlyChild(root, NSEnvelope, "Header", "s:Header")
	if err != nil {
		return nil, err
	}
	return onlyChild(hdr, NSSecExt, "Security", "wsse:Security")
}

// onlyChild returns the one child element of n named {space}local; name is
// how a fault calls it.
func onlyChild(n *xnode, space, local, name string) (*xnode, error) {
	var found *xnode
	for _, c := range n.children {
		if c.kind == kindElement && c.space == space && c.local == local {
			if found != nil {
				return nil, faultf(FaultInvalidSecurity, "more than one %s", name)
			}
			found = c
		}
	}
	if found == nil {
		return nil, faultf(FaultInvalidSecurity, "no %s", name)
	}
	return found, nil
}

// elements returns the child elements of n.
func elements(n *xnode) []*xnode {
	var out []*xnode
	for _, c := range n.children {
		if c.kind == kindElement {
			out = append(out, c)
		}
	}
	return out
}

// attr returns the value of n's attribute {space}local and whether it is
// present.
func nodeAttr(n *xnode, space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.space == space && a.local == local {
			return a.value, true
		}
	}
	return "", false
}

// textOf returns the character data directly inside n, trimmed.
func textOf(n *xnode) string {
	var sb strings.Builder
	for _, c := range n.children {
		if c.kind == kindText {
			sb.WriteString(c.text)
		}
	}
	return strings.TrimSpace(sb.String())
}

// decodeBase64 decodes standard base64 with whitespace anywhere.
func dsigBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

func parseTimestamp(ts *xnode) (created, expires time.Time, err error) {
	var c, e *xnode
	if c, err = onlyChild(ts, NSUtility, "Created", "u:Created"); err != nil {
		return
	}
	if e, err = onlyChild(ts, NSUtility, "Expires", "u:Expires"); err != nil {
		return
	}
	var ok bool
	if created, ok = parseDateTime(textOf(c)); !ok {
		return created, expires, faultf(FaultInvalidSecurity, "malformed u:Created")
	}
	if expires, ok = parseDateTime(textOf(e)); !ok {
		return created, expires, faultf(FaultInvalidSecurity, "malformed u:Expires")
	}
	if expires.Before(created) {
		return created, expires, faultf(FaultInvalidSecurity, "timestamp expires before it is created")
	}
	return created, expires, nil
}

// parseDateTime parses an xsd:dateTime; one without a zone is taken as
// UTC, which WS-Security requires senders to use.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) > 64 {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	return t, err == nil
}

// parseSignedInfo checks ds:SignedInfo and resolves its references.
func parseSignedInfo(doc *xdoc, sig *xnode) (*signedInfo, error) {
	siNode, err := onlyChild(sig, NSDSig, "SignedInfo", "ds:SignedInfo")
	if err != nil {
		return nil, err
	}
	si := &signedInfo{node: siNode}
	var haveC14N, haveMethod bool
	for _, el := range elements(siNode) {
		if el.space != NSDSig {
			return nil, faultf(FaultInvalidSecurity, "unexpected element in ds:SignedInfo")
		}
		switch el.local {
		case "CanonicalizationMethod":
			if haveC14N {
				return nil, faultf(FaultInvalidSecurity, "more than one ds:CanonicalizationMethod")
			}
			haveC14N = true
			if si.inclusive, err = excC14NParams(el, "canonicalization"); err != nil {
				return nil, err
			}
		case "SignatureMethod":
			if haveMethod {
				return nil, faultf(FaultInvalidSecurity, "more than one ds:SignatureMethod")
			}
			haveMethod = true
			si.method, _ = nodeAttr(el, "", "Algorithm")
			switch si.method = strings.TrimSpace(si.method); si.method {
			case algRSASHA1, algRSASHA256, algECDSASHA256:
			default:
				return nil, faultf(FaultInvalidSecurity, "unsupported signature method")
			}
		case "Reference":
			if len(si.refs) == dsigMaxRefs {
				return nil, faultf(FaultInvalidSecurity, "too many references")
			}
			r, err := parseReference(doc, el)
			if err != nil {
				return nil, err
			}
			si.refs = append(si.refs, r)
		default:
			return nil, faultf(FaultInvalidSecurity, "unexpected element in ds:SignedInfo")
		}
	}
	switch {
	case !haveC14N:
		return nil, faultf(FaultInvalidSecurity, "no ds:CanonicalizationMethod")
	case !haveMethod:
		return nil, faultf(FaultInvalidSecurity, "no ds:SignatureMethod")
	case len(si.refs) == 0:
		return nil, faultf(FaultInvalidSecurity, "no ds:Reference")
	}
	return si, nil
}

// excC14NParams checks that el names exclusive C14N without comments and
// returns its InclusiveNamespaces PrefixList ("" for #default).
func excC14NParams(el *xnode, what string) ([]string, error) {
	alg, _ := nodeAttr(el, "", "Algorithm")
	if strings.TrimSpace(alg) != algExcC14N {
		return nil, faultf(FaultInvalidSecurity, "unsupported %s method", what)
	}
	var prefixes []string
	for _, c := range elements(el) {
		if c.space != algExcC14N || c.local != "InclusiveNamespaces" || prefixes != nil {
			return nil, faultf(FaultInvalidSecurity, "unexpected %s parameter", what)
		}
		list, _ := nodeAttr(c, "", "PrefixList")
		prefixes = []string{}
		for _, p := range strings.Fields(list) {
			if p == "#default" {
				p = ""
			}
			if len(prefixes) == dsigMaxPrefixes {
				return nil, faultf(FaultInvalidSecurity, "PrefixList too long")
			}
			prefixes = append(prefixes, p)
		}
	}
	return prefixes, nil
}

func parseReference(doc *xdoc, el *xnode) (dsigRef, error) {
	var r dsigRef
	uri, _ := nodeAttr(el, "", "URI")
	id, ok := strings.CutPrefix(strings.TrimSpace(uri), "#")
	if !ok || id == "" {
		return r, faultf(FaultInvalidSecurity, "reference is not to an element Id")
	}
	target, ok := doc.ids[id]
	switch {
	case !ok:
		return r, faultf(FaultInvalidSecurity, "reference to a missing Id")
	case target == nil:
		return r, faultf(FaultInvalidSecurity, "reference to a duplicated Id")
	}
	r.target = target
	var haveTransforms, haveDigest bool
	var digestText string
	for _, c := range elements(el) {
		if c.space != NSDSig {
			return r, faultf(FaultInvalidSecurity, "unexpected element in ds:Reference")
		}
		switch {
		case c.local == "Transforms" && !haveTransforms:
			haveTransforms = true
			ts := elements(c)
			if len(ts) != 1 || ts[0].space != NSDSig || ts[0].local != "Transform" {
				return r, faultf(FaultInvalidSecurity, "unsupported reference transforms")
			}
			var err error
			if r.inclusive, err = excC14NParams(ts[0], "transform"); err != nil {
				return r, err
			}
		case c.local == "DigestMethod" && r.hash == 0:
			alg, _ := nodeAttr(c, "", "Algorithm")
			switch strings.TrimSpace(alg) {
			case algSHA1:
				r.hash = crypto.SHA1
			case algSHA256:
				r.hash = crypto.SHA256
			default:
				return r, faultf(FaultInvalidSecurity, "unsupported digest method")
			}
		case c.local == "DigestValue" && !haveDigest:
			haveDigest = true
			digestText = textOf(c)
		default:
			return r, faultf(FaultInvalidSecurity, "unexpected element in ds:Reference")
		}
	}
	switch {
	case !haveTransforms:
		return r, faultf(FaultInvalidSecurity, "reference without an exc-c14n transform")
	case r.hash == 0:
		return r, faultf(FaultInvalidSecurity, "no ds:DigestMethod")
	case !haveDigest:
		return r, faultf(FaultInvalidSecurity, "no ds:DigestValue")
	}
	var err error
	r.digest, err = dsigBase64(digestText)
	if err != nil || len(r.digest) != r.hash.Size() {
		return r, faultf(FaultInvalidSecurity, "malformed ds:DigestValue")
	}
	return r, nil
}

// findCertificate returns the certificate of the BinarySecurityToken that
// KeyInfo/SecurityTokenReference/Reference names, or of the only one.
func findCertificate(sec, sig *xnode) (*x509.Certificate, error) {
	var bsts []*xnode
	for _, c := range elements(sec) {
		if c.space == NSSecExt && c.local == "BinarySecurityToken" {
			bsts = append(bsts, c)
		}
	}
	var bst *xnode
	if ref := tokenReference(sig); ref != "" {
		// [MS-MDE2]'s example omits the '#'.
		id := strings.TrimPrefix(ref, "#")
		for _, b := range bsts {
			for _, a := range b.attrs {
				if isIDAttr(a) && a.value == id {
					bst = b
				}
			}
		}
	}
	if bst == nil {
		if len(bsts) != 1 {
			return nil, faultf(FaultInvalidSecurity, "no certificate token")
		}
		bst = bsts[0]
	}
	vt, ok := nodeAttr(bst, "", "ValueType")
	if !ok {
		vt, _ = nodeAttr(bst, NSSecExt, "ValueType")
	}
	switch strings.TrimSpace(vt) {
	case ValueTypeX509v3, ValueTypeUserToken:
	default:
		return nil, faultf(FaultInvalidSecurity, "token is not an X.509 certificate")
	}
	enc, ok := nodeAttr(bst, "", "EncodingType")
	if !ok {
		enc, ok = nodeAttr(bst, NSSecExt, "EncodingType")
	}
	if ok && strings.TrimSpace(enc) != EncodingBase64 {
		return nil, faultf(FaultInvalidSecurity, "unsupported token encoding")
	}
	der, err := dsigBase64(textOf(bst))
	if err != nil || len(der) == 0 {
		return nil, faultf(FaultInvalidSecurity, "malformed certificate token")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, faultf(FaultInvalidSecurity, "malformed certificate")
	}
	return cert, nil
}

// tokenReference returns the URI of ds:KeyInfo/wsse:SecurityTokenReference/
// wsse:Reference, or "".
func tokenReference(sig *xnode) string {
	for _, ki := range elements(sig) {
		if ki.space != NSDSig || ki.local != "KeyInfo" {
			continue
		}
		for _, str := range elements(ki) {
			if str.space != NSSecExt || str.local != "SecurityTokenReference" {
				continue
			}
			for _, ref := range elements(str) {
				if ref.space == NSSecExt && ref.local == "Reference" {
					uri, _ := nodeAttr(ref, "", "URI")
					return strings.TrimSpace(uri)
				}
			}
		}
	}
	return ""
}

// checkSignature verifies sig over the canonical SignedInfo with cert's
// key. ECDSA signatures are r||s, each the size of the curve order.
func checkSignature(cert *x509.Certificate, method string, signed, sig []byte) error {
	hash := crypto.SHA256
	if method == algRSASHA1 {
		hash = crypto.SHA1
	}
	h := hash.New()
	h.Write(signed)
	sum := h.Sum(nil)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if method == algECDSASHA256 {
			break
		}
		if rsa.VerifyPKCS1v15(pub, hash, sum, sig) != nil {
			return faultf(FaultAuthentication, "bad signature")
		}
		return nil
	case *ecdsa.PublicKey:
		if method != algECDSASHA256 {
			break
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return faultf(FaultAuthentication, "bad signature")
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(pub, sum, r, s) {
			return faultf(FaultAuthentication, "bad signature")
		}
		return nil
	}
	return faultf(FaultAuthentication, "signature method does not fit the certificate key")
}
