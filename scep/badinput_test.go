package scep_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/scep"
)

// validRequest is a PKCSReq that the env server accepts; cases change one
// thing in it.
func (e *env) validRequest(key crypto.Signer, cn string) rawRequest {
	e.t.Helper()
	signer, err := scep.SelfSignedSigner(key, pkix.Name{CommonName: "SCEP SIGNER"}, e.clock(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return rawRequest{
		messageType: itoa(scep.MessagePKCSReq),
		txID:        "TX-" + cn,
		nonce:       bytes.Repeat([]byte{7}, 16),
		data:        e.csr(key, cn, "secret").Raw,
		recipient:   e.ca,
		signer:      signer,
		key:         key,
		signingTime: e.clock(),
	}
}

// post sends der to the handler and returns the recorder.
func (e *env) post(der []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/scep/pkiclient.exe?operation=PKIOperation", bytes.NewReader(der))
	rec := httptest.NewRecorder()
	e.server.ServeHTTP(rec, req)
	return rec
}

// countingReader yields 0, 1, 2, ... so encryption keys and IVs are known.
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// badPaddingEnvelope encrypts data with AES-128-CBC under a known key but
// with a final padding byte of zero, which no valid padding has.
func badPaddingEnvelope(t testing.TB, data []byte, to *x509.Certificate) []byte {
	t.Helper()
	env, err := cms.Encrypt(&countingReader{}, data, cms.AES128CBC, cms.RSAPKCS1v15, []*cms.Certificate{cms.FromX509(to)})
	if err != nil {
		t.Fatal(err)
	}
	key, iv := make([]byte, 16), make([]byte, 16)
	(&countingReader{}).Read(key)
	(&countingReader{n: 16}).Read(iv)
	n := 16 - len(data)%16
	pt := append(append([]byte{}, data...), bytes.Repeat([]byte{byte(n)}, n)...)
	pt[len(pt)-1] = 0
	good := make([]byte, len(pt))
	bad := make([]byte, len(pt))
	b, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(bad, pt)
	pt[len(pt)-1] = byte(n)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(good, pt)
	i := bytes.Index(env, good)
	if i < 0 {
		t.Fatal("ciphertext not found in envelope")
	}
	return append(append(append([]byte{}, env[:i]...), bad...), env[i+len(good):]...)
}

func replaceOnce(t testing.TB, b, old, new []byte) []byte {
	t.Helper()
	if bytes.Count(b, old) != 1 || len(old) != len(new) {
		t.Fatalf("replace: %d occurrences", bytes.Count(b, old))
	}
	return bytes.Replace(b, old, new, 1)
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	type outcome struct {
		http int      // expected HTTP status; 200 means a CertRep FAILURE
		fail FailInfo // expected failInfo when http is 200
	}
	certRep := func(f FailInfo) outcome { return outcome{http: 200, fail: f} }
	strangerKey := testKey(t, 3)

	for _, tc := range []struct {
		name string
		cfg  envConfig
		// setup runs before the write counter is read; send makes the bad request.
		setup func(t *testing.T, e *env)
		send  func(t *testing.T, e *env) *httptest.ResponseRecorder
		want  outcome
	}{
		{name: "POST body is not DER", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			return e.post([]byte("hello, this is not ASN.1"))
		}},
		{name: "empty POST body", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			return e.post(nil)
		}},
		{name: "truncated message", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			der := e.validRequest(testKey(t, 1), "d").build(t)
			return e.post(der[:len(der)/2])
		}},
		{name: "trailing garbage", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			der := e.validRequest(testKey(t, 1), "d").build(t)
			return e.post(append(der, 0, 1, 2))
		}},
		{name: "oversized body", cfg: envConfig{opts: &scep.Options{MaxBodySize: 1024}}, want: outcome{http: 413}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			return e.post(e.validRequest(testKey(t, 1), "d").build(t))
		}},
		{name: "wrong content type (EnvelopedData)", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			env, _ := cms.Encrypt(nil, []byte("x"), cms.AES128CBC, cms.RSAPKCS1v15, []*cms.Certificate{cms.FromX509(e.ca)})
			return e.post(env)
		}},
		{name: "degenerate SignedData without signer", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			d, _ := cms.Degenerate([][]byte{e.ca.Raw}, nil)
			return e.post(d)
		}},
		{name: "no transactionID", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.txID = ""
			return e.post(r.build(t))
		}},
		{name: "no senderNonce", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.nonce = nil
			return e.post(r.build(t))
		}},
		{name: "CertRep without senderNonce sent to the server", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType, r.nonce = "3", nil
			return e.post(r.build(t))
		}},
		{name: "GET with garbage base64", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=PKIOperation&message=%%%21!!not*base64", nil))
			return rec
		}},
		{name: "GET without message", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=PKIOperation", nil))
			return rec
		}},
		{name: "GET base64 of garbage", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			m := base64.StdEncoding.EncodeToString([]byte("\x30\x03\x02\x01"))
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=PKIOperation&message="+m, nil))
			return rec
		}},
		{name: "unknown operation", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=FormatDisk", nil))
			return rec
		}},
		{name: "POST of another operation", want: outcome{http: 400}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/scep?operation=GetCACert", strings.NewReader("x")))
			return rec
		}},
		{name: "PUT method", want: outcome{http: 405}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/scep?operation=PKIOperation", nil))
			return rec
		}},
		{name: "GetNextCACert without a next CA", want: outcome{http: 404}, send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=GetNextCACert", nil))
			return rec
		}},
		{name: "bad signature", want: certRep(scep.FailBadMessageCheck), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			der := e.validRequest(testKey(t, 1), "d").build(t)
			der[len(der)-10] ^= 0xff // inside the signature, the last field
			return e.post(der)
		}},
		{name: "content does not match messageDigest", want: certRep(scep.FailBadMessageCheck), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			der := e.validRequest(testKey(t, 1), "d").build(t)
			der[200] ^= 0xff // inside the enveloped content
			return e.post(der)
		}},
		{name: "unknown digest algorithm", want: certRep(scep.FailBadAlg), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.hash = crypto.SHA1
			sha1 := []byte{0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a}
			unknown := []byte{0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x63}
			der := r.build(t)
			return e.post(bytes.ReplaceAll(der, sha1, unknown))
		}},
		{name: "unknown message type", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = "99"
			return e.post(r.build(t))
		}},
		{name: "no message type", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = ""
			return e.post(r.build(t))
		}},
		{name: "CertRep sent to the server", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = "3"
			return e.post(r.build(t))
		}},
		{name: "single DES without legacy", want: certRep(scep.FailBadAlg), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.cipher = cms.DESCBC
			return e.post(r.build(t))
		}},
		{name: "unknown content cipher", want: certRep(scep.FailBadAlg), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			aes128 := []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02}
			ofb := []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x03}
			env, _ := cms.Encrypt(nil, r.data, cms.AES128CBC, cms.RSAPKCS1v15, []*cms.Certificate{cms.FromX509(e.ca)})
			r.envelope = replaceOnce(t, env, aes128, ofb)
			return e.post(r.build(t))
		}},
		{name: "ECDSA signer (reply cannot be encrypted)", want: certRep(scep.FailBadAlg), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			r := e.validRequest(testKey(t, 1), "d")
			r.signer, _ = scep.SelfSignedSigner(k, pkix.Name{CommonName: "ec"}, e.clock(), nil)
			r.key = k
			return e.post(r.build(t))
		}},
		{name: "envelope for another recipient", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.recipient = newCA(t, strangerKey, "someone else", e.clock())
			return e.post(r.build(t))
		}},
		{name: "bad CBC padding", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.envelope = badPaddingEnvelope(t, r.data, e.ca)
			return e.post(r.build(t))
		}},
		{name: "envelope holds no CSR", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.data = []byte("not a certificate request")
			return e.post(r.build(t))
		}},
		{name: "CSR self-signature broken", want: certRep(scep.FailBadMessageCheck), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.data = append([]byte{}, r.data...)
			r.data[len(r.data)-5] ^= 0xff
			return e.post(r.build(t))
		}},
		{name: "wrong challenge", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.data = e.csr(testKey(t, 1), "d", "guess").Raw
			return e.post(r.build(t))
		}},
		{name: "no challenge", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.data = e.csr(testKey(t, 1), "d", "").Raw
			return e.post(r.build(t))
		}},
		{name: "signingTime too old", cfg: envConfig{opts: &scep.Options{MaxClockSkew: time.Hour}}, want: certRep(scep.FailBadTime), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.signingTime = e.clock().Add(-3 * time.Hour)
			return e.post(r.build(t))
		}},
		{name: "renewal signed by a stranger's certificate", want: certRep(scep.FailBadCertID), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			other := newCA(t, strangerKey, "mdmkit test CA", e.clock()) // same name, other key
			key := testKey(t, 1)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "d"},
				NotBefore: e.clock().Add(-time.Hour), NotAfter: e.clock().Add(24 * time.Hour)}
			der, _ := x509.CreateCertificate(rand.Reader, tmpl, other, key.Public(), strangerKey)
			cert, _ := x509.ParseCertificate(der)
			r := e.validRequest(key, "d")
			r.messageType, r.signer = itoa(scep.MessageRenewalReq), cert
			return e.post(r.build(t))
		}},
		{name: "renewal signed by a self-signed certificate", want: certRep(scep.FailBadCertID), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = itoa(scep.MessageRenewalReq)
			return e.post(r.build(t))
		}},
		{name: "renewal signed by a revoked certificate", cfg: envConfig{opts: &scep.Options{RenewalWindow: -1}},
			want: certRep(scep.FailBadRequest),
			setup: func(t *testing.T, e *env) {
				cert := e.enroll(testKey(t, 1), "d")
				if err := e.server.Revoke(ctx, cert, 1); err != nil {
					t.Fatal(err)
				}
				e.lastCert = cert
			},
			send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
				r := e.validRequest(testKey(t, 1), "d")
				r.messageType, r.signer = itoa(scep.MessageRenewalReq), e.lastCert
				return e.post(r.build(t))
			}},
		{name: "renewal signed by an expired certificate", cfg: envConfig{opts: &scep.Options{RenewalWindow: -1}, caOpts: &scep.LocalCAOptions{Validity: 24 * time.Hour}},
			want: certRep(scep.FailBadRequest),
			setup: func(t *testing.T, e *env) {
				e.lastCert = e.enroll(testKey(t, 1), "d")
				e.advance(48 * time.Hour)
			},
			send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
				r := e.validRequest(testKey(t, 1), "d")
				r.messageType, r.signer = itoa(scep.MessageRenewalReq), e.lastCert
				return e.post(r.build(t))
			}},
		{name: "CertPoll for an unknown transaction", want: certRep(scep.FailBadCertID), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = itoa(scep.MessageCertPoll)
			r.data = mustDER(t, struct{ Issuer, Subject asn1.RawValue }{asn1.RawValue{FullBytes: e.ca.RawSubject}, asn1.RawValue{FullBytes: e.ca.RawSubject}})
			return e.post(r.build(t))
		}},
		{name: "GetCert for an unknown serial", want: certRep(scep.FailBadCertID), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = itoa(scep.MessageGetCert)
			r.data = cms.IssuerAndSerial{RawIssuer: e.ca.RawSubject, RawSerial: []byte{0x42}}.Marshal()
			return e.post(r.build(t))
		}},
		{name: "GetCRL for an unknown issuer", want: certRep(scep.FailBadCertID), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = itoa(scep.MessageGetCRL)
			other := newCA(t, strangerKey, "other CA", e.clock())
			r.data = cms.IssuerAndSerial{RawIssuer: other.RawSubject, RawSerial: []byte{0x01}}.Marshal()
			return e.post(r.build(t))
		}},
		{name: "GetCert with a malformed IssuerAndSerialNumber", want: certRep(scep.FailBadRequest), send: func(t *testing.T, e *env) *httptest.ResponseRecorder {
			r := e.validRequest(testKey(t, 1), "d")
			r.messageType = itoa(scep.MessageGetCert)
			r.data = []byte{0x30, 0x00}
			return e.post(r.build(t))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			before := e.counting.writes.Load()
			rec := tc.send(t, e)
			if rec.Code != tc.want.http {
				t.Fatalf("HTTP %d %q, want %d", rec.Code, rec.Body.String(), tc.want.http)
			}
			if got := e.counting.writes.Load(); got != before {
				t.Errorf("refused request wrote to the store (%d writes)", got-before)
			}
			if tc.want.http != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/x-pki-message" {
				t.Errorf("Content-Type %q", ct)
			}
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
			if err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if rep.MessageType != scep.MessageCertRep || rep.PKIStatus != scep.StatusFailure {
				t.Fatalf("reply %v %v, want CertRep FAILURE", rep.MessageType, rep.PKIStatus)
			}
			if rep.FailInfo != tc.want.fail {
				t.Errorf("failInfo %v (%q), want %v", rep.FailInfo, rep.FailInfoText, tc.want.fail)
			}
			if rep.FailInfoText == "" {
				t.Error("no failInfoText")
			}
		})
	}
}

// FailInfo is a local name so the table reads well.
type FailInfo = scep.FailInfo
