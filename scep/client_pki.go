package scep

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/internal/certutil"
	"github.com/mdmkit/mdmkit/internal/cms"
)

// Response is a server's CertRep, decrypted.
type Response struct {
	Status        PKIStatus
	TransactionID string
	// FailInfo and FailInfoText are set for FAILURE.
	FailInfo     FailInfo
	FailInfoText string
	// Certificate is the certificate issued or fetched (SUCCESS of
	// PKCSReq, RenewalReq, CertPoll or GetCert).
	Certificate *x509.Certificate
	// Certificates are all certificates the reply carried.
	Certificates []*x509.Certificate
	// CRL is the revocation list of a GetCRL.
	CRL *x509.RevocationList

	poll *pollState
}

type pollState struct {
	msgType   MessageType
	signer    *x509.Certificate
	key       crypto.Signer
	subject   []byte
	publicKey crypto.PublicKey
}

// Enroll sends a PKCSReq for csr, whose private key is key. The message is
// signed with a throw-away self-signed certificate for key (RFC 8894
// section 2.3), and key must also be a crypto.Decrypter with an RSA public
// key to open the reply. The challenge travels inside csr (see NewCSR).
//
// A FAILURE is returned as an *Error carrying its failInfo, together with
// the Response. A PENDING is returned as an error wrapping ErrPending with
// a Response to pass to Poll.
func (c *Client) Enroll(ctx context.Context, csr *x509.CertificateRequest, key crypto.Signer) (*Response, error) {
	signer, err := SelfSignedSigner(key, csr.Subject, c.opts.Clock(), c.opts.Rand)
	if err != nil {
		return nil, err
	}
	return c.enroll(ctx, MessagePKCSReq, csr, signer, key)
}

// Renew sends a RenewalReq for csr, signed with the current certificate
// and its key (which must also be a crypto.Decrypter: the reply is
// encrypted to cert). No challenge is needed: cert authenticates it.
func (c *Client) Renew(ctx context.Context, csr *x509.CertificateRequest, cert *x509.Certificate, certKey crypto.Signer) (*Response, error) {
	return c.enroll(ctx, MessageRenewalReq, csr, cert, certKey)
}

func (c *Client) enroll(ctx context.Context, t MessageType, csr *x509.CertificateRequest, signer *x509.Certificate, key crypto.Signer) (*Response, error) {
	ps := &pollState{msgType: t, signer: signer, key: key, subject: csr.RawSubject, publicKey: csr.PublicKey}
	return c.exchange(ctx, t, transactionID(csr.RawSubjectPublicKeyInfo), csr.Raw, ps)
}

// Poll sends a CertPoll for a PENDING response.
func (c *Client) Poll(ctx context.Context, pending *Response) (*Response, error) {
	if pending == nil || pending.poll == nil || pending.Status != StatusPending {
		return nil, errors.New("scep: Poll needs a PENDING response from Enroll or Renew")
	}
	cas, err := c.caCerts(ctx)
	if err != nil {
		return nil, err
	}
	issuer := issuingCA(cas)
	data, err := asn1.Marshal(issuerAndSubject{
		Issuer:  asn1.RawValue{FullBytes: issuer.RawSubject},
		Subject: asn1.RawValue{FullBytes: pending.poll.subject},
	})
	if err != nil {
		return nil, fmt.Errorf("scep: CertPoll: %w", err)
	}
	return c.exchange(ctx, MessageCertPoll, pending.TransactionID, data, pending.poll)
}

// GetCert fetches the certificate with this issuer (a DER Name) and
// serial. The request is signed with cert and key (any certificate the
// client holds, with an RSA key that also decrypts).
func (c *Client) GetCert(ctx context.Context, issuer []byte, serial *big.Int, cert *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	resp, err := c.issuerAndSerialOp(ctx, MessageGetCert, issuer, serial, cert, key)
	if err != nil {
		return nil, err
	}
	if resp.Certificate == nil {
		return nil, errors.New("scep: GetCert: reply has no certificate")
	}
	return resp.Certificate, nil
}

// GetCRL fetches the CRL of the CA that issued the certificate named by
// issuer and serial, signing the request with cert and key.
func (c *Client) GetCRL(ctx context.Context, issuer []byte, serial *big.Int, cert *x509.Certificate, key crypto.Signer) (*x509.RevocationList, error) {
	resp, err := c.issuerAndSerialOp(ctx, MessageGetCRL, issuer, serial, cert, key)
	if err != nil {
		return nil, err
	}
	if resp.CRL == nil {
		return nil, errors.New("scep: GetCRL: reply has no CRL")
	}
	return resp.CRL, nil
}

func (c *Client) issuerAndSerialOp(ctx context.Context, t MessageType, issuer []byte, serial *big.Int, cert *x509.Certificate, key crypto.Signer) (*Response, error) {
	serialDER, err := asn1.Marshal(serial)
	if err != nil {
		return nil, fmt.Errorf("scep: %v: %w", t, err)
	}
	var sv asn1.RawValue
	if _, err := asn1.Unmarshal(serialDER, &sv); err != nil {
		return nil, fmt.Errorf("scep: %v: %w", t, err)
	}
	data := cms.IssuerAndSerial{RawIssuer: issuer, RawSerial: sv.Bytes}.Marshal()
	nonce := make([]byte, 8)
	if _, err := io.ReadFull(c.opts.Rand, nonce); err != nil {
		return nil, err
	}
	ps := &pollState{msgType: t, signer: cert, key: key}
	return c.exchange(ctx, t, strings.ToUpper(hex.EncodeToString(nonce)), data, ps)
}

// exchange builds, sends and reads one PKIOperation.
func (c *Client) exchange(ctx context.Context, t MessageType, txID string, data []byte, ps *pollState) (*Response, error) {
	dec, ok := ps.key.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("scep: the signing key must also be a crypto.Decrypter to read the reply")
	}
	caps, err := c.capabilities(ctx)
	if err != nil {
		return nil, err
	}
	cas, err := c.caCerts(ctx)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(c.opts.Rand, nonce); err != nil {
		return nil, fmt.Errorf("scep: nonce: %w", err)
	}
	cipher, hash := c.algorithms(caps)
	env, err := cms.Encrypt(c.opts.Rand, data, cms.Cipher(cipher), cms.RSAPKCS1v15, []*cms.Certificate{cms.FromX509(recipient(cas))})
	if err != nil {
		return nil, fmt.Errorf("scep: %v: %w", t, err)
	}
	msg, err := cms.Sign(&cms.SignParams{
		Content: env,
		Signer:  cms.FromX509(ps.signer),
		Key:     ps.key,
		Hash:    hash,
		Attributes: []cms.Attribute{
			cms.NewAttribute(oidTransactionID, printable(txID)),
			cms.NewAttribute(oidMessageType, printable(strconv.Itoa(int(t)))),
			cms.NewAttribute(oidSenderNonce, octets(nonce)),
		},
		SigningTime:  c.opts.Clock(),
		Certificates: [][]byte{ps.signer.Raw},
		Rand:         c.opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("scep: %v: %w", t, err)
	}
	body, err := c.pkiOperation(ctx, msg)
	if err != nil {
		return nil, err
	}
	return c.readCertRep(body, t, txID, nonce, cas, ps, dec)
}

func (c *Client) readCertRep(body []byte, t MessageType, txID string, nonce []byte, cas []*x509.Certificate, ps *pollState, dec crypto.Decrypter) (*Response, error) {
	rep, err := ParsePKIMessage(body, cas...)
	if err != nil {
		return nil, fmt.Errorf("scep: CertRep: %w", err)
	}
	if !containsRaw(cas, rep.signer.Raw) {
		return nil, errors.New("scep: CertRep is not signed by the server's CA or RA certificate")
	}
	if rep.MessageType != MessageCertRep {
		return nil, fmt.Errorf("scep: reply is a %v, not a CertRep", rep.MessageType)
	}
	if rep.TransactionID != txID {
		return nil, errors.New("scep: CertRep transactionID does not match the request")
	}
	if !bytes.Equal(rep.RecipientNonce, nonce) {
		return nil, errors.New("scep: CertRep recipientNonce does not match the request's senderNonce")
	}
	resp := &Response{Status: rep.PKIStatus, TransactionID: rep.TransactionID}
	switch rep.PKIStatus {
	case StatusFailure:
		resp.FailInfo, resp.FailInfoText = rep.FailInfo, rep.FailInfoText
		return resp, &Error{FailInfo: rep.FailInfo, Text: rep.FailInfoText}
	case StatusPending:
		resp.poll = ps
		return resp, fmt.Errorf("scep: %v %s: %w", t, txID, ErrPending)
	case StatusSuccess:
	default:
		return nil, fmt.Errorf("scep: CertRep with unknown pkiStatus %v", rep.PKIStatus)
	}
	data, err := rep.Decrypt(ps.signer, dec, true)
	if err != nil {
		return nil, fmt.Errorf("scep: CertRep envelope: %w", err)
	}
	sd, err := cms.ParseSignedData(data)
	if err != nil {
		return nil, fmt.Errorf("scep: CertRep content: %w", err)
	}
	for _, cert := range sd.Certificates {
		if cert.Parsed != nil {
			resp.Certificates = append(resp.Certificates, cert.Parsed)
		}
	}
	for _, raw := range sd.RawCRLs {
		if crl, err := x509.ParseRevocationList(raw); err == nil {
			resp.CRL = crl
			break
		}
	}
	resp.Certificate = issuedCertificate(resp.Certificates, ps.publicKey)
	return resp, nil
}

// issuedCertificate picks the certificate for the requested key, else the
// first non-CA certificate.
func issuedCertificate(certs []*x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	if pub != nil {
		for _, c := range certs {
			if publicKeysEqual(c.PublicKey, pub) {
				return c
			}
		}
	}
	for _, c := range certs {
		if !c.IsCA {
			return c
		}
	}
	if len(certs) > 0 {
		return certs[0]
	}
	return nil
}

func (c *Client) algorithms(caps Capabilities) (Cipher, crypto.Hash) {
	cipher, hash := c.opts.Cipher, c.opts.Digest
	if cipher == 0 {
		cipher = CipherDES3
		if caps.Has(CapAES) {
			cipher = CipherAES128
		}
	}
	if hash == 0 {
		switch {
		case caps.Has(CapSHA256):
			hash = crypto.SHA256
		case caps.Has(CapSHA512):
			hash = crypto.SHA512
		default:
			hash = crypto.SHA1
		}
	}
	return cipher, hash
}

// recipient picks the certificate to encrypt requests to from a GetCACert
// answer: an RA with keyEncipherment, else the first non-CA, else the
// first certificate.
func recipient(cas []*x509.Certificate) *x509.Certificate {
	for _, c := range cas {
		if !c.IsCA && c.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
			return c
		}
	}
	for _, c := range cas {
		if !c.IsCA {
			return c
		}
	}
	return cas[0]
}

// issuingCA picks the CA from a GetCACert answer.
func issuingCA(cas []*x509.Certificate) *x509.Certificate {
	for _, c := range cas {
		if c.IsCA {
			return c
		}
	}
	return cas[0]
}

// transactionID derives the RFC 8894 section 3.2.1.1 transaction ID from
// the request's public key, so a retry of the same request keeps it.
func transactionID(spki []byte) string {
	d := sha256.Sum256(spki)
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

// SelfSignedSigner makes the throw-away certificate that signs a PKCSReq
// (RFC 8894 section 2.3): self-signed with key, valid for a day around
// now.
func SelfSignedSigner(key crypto.Signer, subject pkix.Name, now time.Time, rnd io.Reader) (*x509.Certificate, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	serial, err := certutil.RandomSerial(rnd)
	if err != nil {
		return nil, fmt.Errorf("scep: serial number: %w", err)
	}
	if subject.CommonName == "" && len(subject.Names) == 0 {
		subject = pkix.Name{CommonName: "SCEP SIGNER"}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("scep: signer certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// NewCSR creates a PKCS #10 request for key with subject, the optional
// challenge as its challengePassword attribute (a PrintableString when the
// characters allow, else a UTF8String), and the SANs and extensions of tmpl
// when it is not nil. rnd is the entropy source for signatures that need
// one; nil means crypto/rand.
func NewCSR(rnd io.Reader, key crypto.Signer, subject pkix.Name, challenge string, tmpl *x509.CertificateRequest) (*x509.CertificateRequest, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	t := &x509.CertificateRequest{}
	if tmpl != nil {
		*t = *tmpl
	}
	t.Subject = subject
	der, err := x509.CreateCertificateRequest(rnd, t, key)
	if err != nil {
		return nil, fmt.Errorf("scep: certificate request: %w", err)
	}
	if challenge == "" {
		return x509.ParseCertificateRequest(der)
	}
	// crypto/x509 writes attributes only in the extensionRequest shape, so
	// add the challengePassword to its request and sign again.
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, err
	}
	var info csrInfo
	if _, err := asn1.Unmarshal(csr.RawTBSCertificateRequest, &info); err != nil {
		return nil, err
	}
	val, err := asn1.Marshal(challenge) // PrintableString or UTF8String
	if err != nil {
		return nil, fmt.Errorf("scep: challenge: %w", err)
	}
	attr, err := asn1.Marshal(csrAttribute{Type: oidChallengePassword, Values: []asn1.RawValue{{FullBytes: val}}})
	if err != nil {
		return nil, err
	}
	tbs, err := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue `asn1:"tag:0"`
	}{
		Version:    info.Version,
		Subject:    info.Subject,
		PublicKey:  info.PublicKey,
		Attributes: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(attr, info.Attributes.Bytes...)},
	})
	if err != nil {
		return nil, err
	}
	var hash crypto.Hash
	switch csr.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		hash = crypto.SHA256
	case x509.ECDSAWithSHA384:
		hash = crypto.SHA384
	case x509.ECDSAWithSHA512:
		hash = crypto.SHA512
	case x509.PureEd25519:
	default:
		return nil, fmt.Errorf("scep: certificate request: unsupported signature algorithm %v", csr.SignatureAlgorithm)
	}
	signed := tbs
	if hash != 0 {
		h := hash.New()
		h.Write(tbs)
		signed = h.Sum(nil)
	}
	sig, err := key.Sign(rnd, signed, hash)
	if err != nil {
		return nil, fmt.Errorf("scep: certificate request: %w", err)
	}
	var outer struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, err
	}
	der, err = asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, outer.SigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificateRequest(der)
}
