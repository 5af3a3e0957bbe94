package scep_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mdmkit/mdmkit/scep"
)

// FuzzPKIOperation feeds arbitrary bodies to the handler: it must answer
// 200 (a CertRep), 400 or 413, never panic, and never store anything.
func FuzzPKIOperation(f *testing.F) {
	e := newEnv(f, envConfig{})
	valid := e.validRequest(testKey(f, 1), "fuzz").build(f)
	f.Add(valid)
	f.Add(valid[:100])
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.counting.writes.Load()
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/scep", bytes.NewReader(body)))
		issued := false
		switch rec.Code {
		case 200:
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
			if err != nil || rep.MessageType != scep.MessageCertRep {
				t.Fatalf("200 without a CertRep: %v", err)
			}
			if rep.PKIStatus == scep.StatusSuccess {
				// Only a message that still carries a valid signature by
				// the test key (the fuzzer cannot forge one) may succeed.
				req, err := scep.ParsePKIMessage(body)
				if err != nil || req.SignerCertificate == nil || !testKey(t, 1).PublicKey.Equal(req.SignerCertificate.PublicKey) {
					t.Fatalf("a message not signed by the test key issued a certificate (%v)", err)
				}
				issued = true
			}
		case 400, 413:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		if !issued && e.counting.writes.Load() != before {
			t.Fatal("refused message wrote to the store")
		}
	})
}

// FuzzParsePKIMessage decodes arbitrary bytes as a SCEP message (the
// client-side parser of CertReps uses the same function).
func FuzzParsePKIMessage(f *testing.F) {
	e := newEnv(f, envConfig{})
	valid := e.validRequest(testKey(f, 1), "fuzz").build(f)
	rep, err := e.server.PKIOperation(context.Background(), valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(rep)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := scep.ParsePKIMessage(b, e.ca)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
		// Decrypt is not fuzzed here: each call is an RSA private-key
		// operation, far too slow under coverage instrumentation; the
		// envelope parser and decryption are fuzzed in internal/cms.
	})
}

// FuzzCapabilities parses arbitrary GetCACaps bodies.
func FuzzCapabilities(f *testing.F) {
	f.Add([]byte("AES\r\nSHA-256\r\nSCEPStandard\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		caps := scep.ParseCapabilities(b)
		if len(caps) > 64 {
			t.Fatalf("%d capabilities", len(caps))
		}
		_ = caps.Has(scep.CapAES)
	})
}
