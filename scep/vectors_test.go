package scep_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// These tests read SCEP messages captured from real devices and servers,
// from $MDMKIT_VECTORS/scep (see that directory's README for their origin).
// They are read at run time and never copied into this repository.

const vectorTransactionID = "A13090761A30F66664F85D37433D2065E1112BA1"

// vectorSenderNonce is the senderNonce of PKCSReq.der, which CertRep.der
// echoes as its recipientNonce.
var vectorSenderNonce = []byte{0xAE, 0x7F, 0xE8, 0x81, 0x6C, 0xC6, 0xBE, 0xDD}

var oidRSAESOAEP = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}

// vectorsDir returns $MDMKIT_VECTORS/scep (see internal/testvectors).
func vectorsDir(t *testing.T) string { return testvectors.Dir(t, "scep") }

func readVector(t *testing.T, name string) []byte { return testvectors.Read(t, "scep", name) }

func vectorCertificate(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readVector(t, name))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return cert
}

// vectorTestCA returns the test CA certificate and its key, which the
// capture's owners published PEM-encrypted (DES-EDE3-CBC) with an empty
// passphrase.
func vectorTestCA(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	cert := vectorCertificate(t, "testca/ca.pem")
	block, _ := pem.Decode(readVector(t, "testca/ca.key"))
	if block == nil {
		t.Fatal("testca/ca.key holds no PEM block")
	}
	// x509.DecryptPEMBlock is deprecated because legacy PEM encryption is
	// unauthenticated; that does not matter for a published test key, and
	// it is the only way the standard library reads this file.
	der, err := x509.DecryptPEMBlock(block, []byte(""))
	if err != nil {
		t.Fatalf("decrypt testca/ca.key with the empty passphrase: %v", err)
	}
	key, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		t.Fatalf("parse testca/ca.key: %v", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Fatal("testca/ca.key does not match testca/ca.pem")
	}
	return cert, key
}

// TestVectorPKCSReq reads the PKCSReq a macOS device sent (3DES envelope,
// SHA-1 digest) and opens it with the test CA's key.
func TestVectorPKCSReq(t *testing.T) {
	der := readVector(t, "PKCSReq.der")
	msg, err := scep.ParsePKIMessage(der)
	if err != nil {
		t.Fatalf("ParsePKIMessage: %v", err)
	}
	if msg.MessageType != scep.MessagePKCSReq {
		t.Errorf("messageType = %v, want PKCSReq", msg.MessageType)
	}
	if msg.TransactionID != vectorTransactionID {
		t.Errorf("transactionID = %q, want %q", msg.TransactionID, vectorTransactionID)
	}
	// macOS sent an 8-byte nonce (RFC 8894 asks for 16; servers must
	// take what they get).
	if !bytes.Equal(msg.SenderNonce, vectorSenderNonce) {
		t.Errorf("senderNonce = %x, want %x", msg.SenderNonce, vectorSenderNonce)
	}
	if msg.Digest != crypto.SHA1 {
		t.Errorf("digest = %v, want SHA-1", msg.Digest)
	}
	if msg.SignerCertificate == nil || msg.SignerCertificate.Subject.CommonName != "MDM SCEP SIGNER" {
		t.Fatalf("signer certificate = %v, want CN=MDM SCEP SIGNER", msg.SignerCertificate)
	}
	if want := time.Date(2016, 5, 31, 11, 30, 13, 0, time.UTC); !msg.SigningTime.Equal(want) {
		t.Errorf("signingTime = %v, want %v", msg.SigningTime, want)
	}
	if c := envelopeCipher(t, der); c != cms.DES3CBC {
		t.Errorf("envelope cipher = %v, want 3DES", c)
	}

	caCert, caKey := vectorTestCA(t)
	data, err := msg.Decrypt(caCert, caKey, false)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(data)
	if err != nil {
		t.Fatalf("the envelope does not hold a CSR: %v", err)
	}
	if cn := csr.Subject.CommonName; !strings.HasPrefix(cn, "com.apple.security.scep.") {
		t.Errorf("CSR subject CN = %q, want the profile's payload identifier", cn)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Errorf("CSR self-signature: %v", err)
	}

	// The envelope is for the test CA only: another key must not open it.
	if _, err := msg.Decrypt(caCert, testKey(t, 1), false); err == nil {
		t.Error("Decrypt with a key that is not the recipient's succeeded")
	} else if se, ok := errorsAsSCEP(err); !ok || se.FailInfo != scep.FailBadRequest {
		t.Errorf("Decrypt with the wrong key: %v, want FAILURE badRequest", err)
	}
}

// TestVectorPKCSReqServer answers the macOS PKCSReq with a Server whose RA
// is the test CA: a CertRep SUCCESS that mirrors SHA-1 and 3DES.
func TestVectorPKCSReqServer(t *testing.T) {
	der := readVector(t, "PKCSReq.der")
	caCert, caKey := vectorTestCA(t)
	// The test CA expired on 2026-05-29; issue at a time inside its validity.
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	local, err := scep.NewLocalCA(caCert, caKey, &scep.LocalCAOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var issued []*x509.Certificate
	var seen []*scep.CSRRequest
	signer := scep.CSRSignerFunc(func(ctx context.Context, req *scep.CSRRequest) (*x509.Certificate, error) {
		cert, err := local.SignCSR(ctx, req)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, req)
		if err == nil {
			issued = append(issued, cert)
		}
		return cert, err
	})
	// The profile that produced the capture sets no challenge.
	acceptAll := scep.ChallengeValidatorFunc(func(ctx context.Context, req *scep.CSRRequest) error { return nil })
	store := memory.New()
	server, err := scep.New(scep.RA{Certificate: caCert, Signer: caKey, Decrypter: caKey}, signer, acceptAll, store, &scep.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	req, err := scep.ParsePKIMessage(der)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	reply, err := server.PKIOperation(ctx, der)
	if err != nil {
		t.Fatalf("PKIOperation: %v", err)
	}
	rep, err := scep.ParsePKIMessage(reply)
	if err != nil {
		t.Fatalf("parse the CertRep: %v", err)
	}
	if rep.MessageType != scep.MessageCertRep || rep.PKIStatus != scep.StatusSuccess {
		t.Fatalf("reply = %v %v (%v %q), want CertRep SUCCESS", rep.MessageType, rep.PKIStatus, rep.FailInfo, rep.FailInfoText)
	}
	if rep.TransactionID != vectorTransactionID {
		t.Errorf("reply transactionID = %q, want %q", rep.TransactionID, vectorTransactionID)
	}
	if !bytes.Equal(rep.RecipientNonce, req.SenderNonce) {
		t.Errorf("reply recipientNonce = %x, want the request's senderNonce %x", rep.RecipientNonce, req.SenderNonce)
	}
	if len(rep.SenderNonce) == 0 || bytes.Equal(rep.SenderNonce, req.SenderNonce) {
		t.Errorf("reply senderNonce = %x: want a fresh nonce, not the request's", rep.SenderNonce)
	}
	if rep.Digest != crypto.SHA1 {
		t.Errorf("reply digest = %v, want SHA-1 as the request", rep.Digest)
	}
	if rep.SignerCertificate == nil || !bytes.Equal(rep.SignerCertificate.Raw, caCert.Raw) {
		t.Error("reply is not signed by the RA (the test CA)")
	}
	if !rep.SigningTime.Equal(now) {
		t.Errorf("reply signingTime = %v, want the server clock %v", rep.SigningTime, now)
	}

	env := envelopeOf(t, reply)
	if env.Cipher != cms.DES3CBC {
		t.Errorf("reply envelope cipher = %v, want 3DES as the request", env.Cipher)
	}
	if len(env.Recipients) != 1 {
		t.Fatalf("reply envelope has %d recipients, want 1", len(env.Recipients))
	}
	r := env.Recipients[0]
	if r.KeyAlgorithm.Equal(oidRSAESOAEP) {
		t.Error("reply key transport is RSAES-OAEP; the request used PKCS #1 v1.5")
	}
	if r.IssuerAndSerial == nil || !r.IssuerAndSerial.Matches(cms.FromX509(req.SignerCertificate)) {
		t.Error("reply envelope is not addressed to the request's signer certificate")
	}
	t.Run("openssl sees des-ede3-cbc", func(t *testing.T) {
		openssl := needTool(t, "openssl")
		sd, err := cms.ParseSignedData(reply)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "envelope.der")
		if err := os.WriteFile(path, sd.Content, 0o600); err != nil {
			t.Fatal(err)
		}
		res := runTool(t, "", openssl, "asn1parse", "-inform", "DER", "-in", path)
		if res.err != nil {
			t.Fatalf("openssl asn1parse: %v", res.err)
		}
		out := string(res.stdout)
		if !strings.Contains(out, ":pkcs7-envelopedData") || !strings.Contains(out, ":des-ede3-cbc") {
			t.Errorf("openssl does not read a 3DES EnvelopedData:\n%s", out)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || len(issued) != 1 {
		t.Fatalf("signer called %d times, issued %d certificates; want 1 and 1", len(seen), len(issued))
	}
	if seen[0].ChallengePassword != "" || seen[0].MessageType != scep.MessagePKCSReq || seen[0].TransactionID != vectorTransactionID {
		t.Errorf("signer saw %+v", seen[0])
	}
	cert := issued[0]
	if !strings.HasPrefix(cert.Subject.CommonName, "com.apple.security.scep.") {
		t.Errorf("issued subject CN = %q", cert.Subject.CommonName)
	}
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		t.Errorf("issued certificate does not chain to the test CA: %v", err)
	}
	if !cert.NotAfter.After(now) || cert.NotAfter.After(caCert.NotAfter) {
		t.Errorf("issued NotAfter = %v, want after %v and not after the CA's %v", cert.NotAfter, now, caCert.NotAfter)
	}
	rec, err := store.Certificate(ctx, cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		t.Fatalf("issued certificate not in the store: %v", err)
	}
	if !bytes.Equal(rec.Certificate.Raw, cert.Raw) || rec.TransactionID != vectorTransactionID || rec.RenewalOf != nil {
		t.Errorf("stored record: transaction %q, RenewalOf %v, same DER %v", rec.TransactionID, rec.RenewalOf, bytes.Equal(rec.Certificate.Raw, cert.Raw))
	}
}

// TestVectorCertRep reads the CertRep a server sent for the macOS request.
// That server put no senderNonce in it (RFC 8894 asks for one); a client
// has no use for it, so the reply must still read.
func TestVectorCertRep(t *testing.T) {
	der := readVector(t, "CertRep.der")
	caCert, caKey := vectorTestCA(t)

	// First what the capture is, independently of ParsePKIMessage: one
	// signer, the test CA, whose signature verifies with the embedded
	// certificates.
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		t.Fatalf("parse SignedData: %v", err)
	}
	if len(sd.Signers) != 1 {
		t.Fatalf("%d signers, want 1", len(sd.Signers))
	}
	si := sd.Signers[0]
	signer, err := sd.SignerCertificate(si)
	if err != nil {
		t.Fatalf("signer among the embedded certificates: %v", err)
	}
	if !bytes.Equal(signer.Raw, caCert.Raw) {
		t.Error("signer is not the test CA")
	}
	if err := sd.Verify(si, signer.PublicKey); err != nil {
		t.Errorf("signature: %v", err)
	}
	if st, ok := si.SigningTime(); !ok || !st.Equal(time.Date(2016, 5, 31, 11, 30, 14, 0, time.UTC)) {
		t.Errorf("signingTime = %v, %v; want 2016-05-31 11:30:14Z", st, ok)
	}

	msg, err := scep.ParsePKIMessage(der)
	if err != nil {
		t.Fatalf("BUG in scep.ParsePKIMessage: a CertRep without senderNonce (its signature verifies) is refused: %v", err)
	}
	if msg.MessageType != scep.MessageCertRep || msg.PKIStatus != scep.StatusSuccess {
		t.Fatalf("message = %v %v, want CertRep SUCCESS", msg.MessageType, msg.PKIStatus)
	}
	if msg.SignerCertificate == nil || !bytes.Equal(msg.SignerCertificate.Raw, caCert.Raw) {
		t.Errorf("signer = %v, want the test CA", msg.SignerCertificate)
	}
	if msg.TransactionID != vectorTransactionID {
		t.Errorf("transactionID = %q, want %q", msg.TransactionID, vectorTransactionID)
	}
	if !bytes.Equal(msg.RecipientNonce, vectorSenderNonce) {
		t.Errorf("recipientNonce = %x, want the request's senderNonce %x", msg.RecipientNonce, vectorSenderNonce)
	}
	if msg.Digest != crypto.SHA1 {
		t.Errorf("digest = %v, want SHA-1", msg.Digest)
	}
	if len(msg.Certificates) != 2 {
		t.Errorf("%d embedded certificates, want 2 (the issued certificate and the CA)", len(msg.Certificates))
	}
	var device *x509.Certificate
	for _, c := range msg.Certificates {
		if strings.HasPrefix(c.Subject.CommonName, "com.apple.security.scep.") {
			device = c
		}
	}
	if device == nil {
		t.Error("the issued device certificate is not embedded")
	} else if !bytes.Equal(device.RawIssuer, caCert.RawSubject) {
		t.Errorf("device certificate issuer = %v, want the test CA", device.Issuer)
	}
	// The envelope is for the device's key, which was not published: the
	// CA's key must not open it.
	if _, err := msg.Decrypt(caCert, caKey, true); err == nil {
		t.Error("the CA key opened an envelope addressed to the device")
	} else if se, ok := errorsAsSCEP(err); !ok || se.FailInfo != scep.FailBadRequest {
		t.Errorf("Decrypt: %v, want FAILURE badRequest", err)
	}
}

// TestVectorCertRepNoCertificates reads a Microsoft NDES CertRep whose
// SignedData carries no certificates: the RA certificate comes out of band.
func TestVectorCertRepNoCertificates(t *testing.T) {
	der := readVector(t, "testca2/CertRep_NoCertificatesForSigners.der")
	ra := vectorCertificate(t, "testca2/ca2.pem")
	const txID = "HVvzN0228V+AW+dUuDe8OPyDXD0="

	msg, err := scep.ParsePKIMessage(der)
	se, ok := errorsAsSCEP(err)
	if !ok || se.FailInfo != scep.FailBadMessageCheck {
		t.Fatalf("without the RA certificate: err = %v, want *scep.Error badMessageCheck (signer not found)", err)
	}
	if msg == nil || msg.TransactionID != txID {
		t.Errorf("without the RA certificate the message should still come back for a FAILURE reply: %v", msg)
	}

	msg, err = scep.ParsePKIMessage(der, ra)
	if err != nil {
		t.Fatalf("ParsePKIMessage with the RA certificate: %v", err)
	}
	if msg.MessageType != scep.MessageCertRep || msg.PKIStatus != scep.StatusSuccess {
		t.Errorf("message = %v %v, want CertRep SUCCESS", msg.MessageType, msg.PKIStatus)
	}
	if msg.TransactionID != txID {
		t.Errorf("transactionID = %q, want %q", msg.TransactionID, txID)
	}
	if msg.SignerCertificate == nil || !bytes.Equal(msg.SignerCertificate.Raw, ra.Raw) {
		t.Error("signer is not the RA certificate given out of band")
	}
	if len(msg.Certificates) != 0 {
		t.Errorf("%d embedded certificates, want none", len(msg.Certificates))
	}
	env := envelopeOf(t, der)
	if len(env.Recipients) == 0 || !env.Recipients[0].KeyAlgorithm.Equal(oidRSAESOAEP) {
		t.Error("envelope key transport is not RSAES-OAEP")
	}
	if env.Cipher != cms.AES128CBC {
		t.Errorf("envelope cipher = %v, want AES-128-CBC", env.Cipher)
	}
}

// errorsAsSCEP is errors.As for *scep.Error.
func errorsAsSCEP(err error) (*scep.Error, bool) {
	var se *scep.Error
	ok := errors.As(err, &se)
	return se, ok
}
