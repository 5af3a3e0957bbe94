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
	// Pre-issue nothing: every fuzzed message that is a valid PKCSReq with
	// the right challenge would need the fuzzer to forge a signature.
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.counting.writes.Load()
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/scep", bytes.NewReader(body)))
		switch rec.Code {
		case 200:
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
			if err != nil || rep.MessageType != scep.MessageCertRep {
				t.Fatalf("200 without a CertRep: %v", err)
			}
			if rep.PKIStatus == scep.StatusSuccess && !bytes.Equal(body, valid) {
				// Only a message signed by a key the fuzzer does not hold can
				// succeed; a mutated one that still verifies is a bug.
				t.Fatalf("mutated message issued a certificate")
			}
		case 400, 413:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		if !bytes.Equal(body, valid) && e.counting.writes.Load() != before {
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
		if m != nil {
			_, _ = m.Decrypt(e.ca, e.caKey, true)
		}
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
