package wstep

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerifyCertificateAuth checks that the verifier never panics, returns
// either a certificate or a short *Fault of one of its two subcodes, and
// that canonicalization is a fixed point: the canonical form of any
// accepted document parses and canonicalizes to itself.
func FuzzVerifyCertificateAuth(f *testing.F) {
	for _, id := range []func() testIdentity{rsaIdentity, p256Identity} {
		f.Add([]byte(signedEnvelope(f, id())))
	}
	for _, v := range signedVariants {
		env, _, _ := v.fill(f, true)
		f.Add([]byte(env))
	}
	for _, s := range []string{
		"",
		"<a/>",
		`<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Header/></s:Envelope>`,
		`<e xmlns:p="urn:p" p:a="&#xA;	x" b='"'><![CDATA[<>]]><?pi x?><!--c--><p:f xmlns=""/></e>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cert, err := VerifyCertificateAuth(data, tsNow, testSkew)
		if err == nil {
			if cert == nil {
				t.Fatal("no certificate and no error")
			}
			return
		}
		if cert != nil {
			t.Fatal("a certificate with an error")
		}
		var fault *Fault
		if !errors.As(err, &fault) || (fault.Subcode != FaultInvalidSecurity && fault.Subcode != FaultAuthentication) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(fault.Reason) > 64 {
			t.Fatalf("reason too long: %q", fault.Reason)
		}

		doc, err := parseDoc(data)
		if err != nil {
			return
		}
		c1, err := canonicalize(doc.root, nil)
		if err != nil {
			return
		}
		doc2, err := parseDoc(c1)
		if errors.Is(err, errXMLLimit) {
			return // declarations repeated on siblings can pass the limits
		}
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%q", err, c1)
		}
		c2, err := canonicalize(doc2.root, nil)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("canonicalization is not a fixed point (%v)\n%q\n%q", err, c1, c2)
		}
	})
}
