package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"testing"
	"time"
)

// oidSCEPMessageType is a SCEP signed attribute, used as an "extra" one.
var oidSCEPMessageType = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}

func TestSignVerifyRoundTrip(t *testing.T) {
	signingTime := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	msgType := NewAttribute(oidSCEPMessageType, mustMarshal(asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte("19")}))
	akiValue := mustMarshal(struct {
		KeyID []byte `asn1:"optional,tag:0"`
	}{[]byte("aki")})
	tests := []struct {
		name      string
		id        *identity
		hash      crypto.Hash
		wantHash  crypto.Hash
		wantSigAl asn1.ObjectIdentifier
	}{
		{"RSA SHA-1", rsaIdentity(t, 0), crypto.SHA1, crypto.SHA1, oidRSAEncryption},
		{"RSA SHA-256", rsaIdentity(t, 0), crypto.SHA256, crypto.SHA256, oidRSAEncryption},
		{"RSA SHA-512", rsaIdentity(t, 0), crypto.SHA512, crypto.SHA512, oidRSAEncryption},
		{"RSA default hash", rsaIdentity(t, 0), 0, crypto.SHA256, oidRSAEncryption},
		{"ECDSA P-256", newIdentity(t, "ec", ecKey(t), nil), crypto.SHA256, crypto.SHA256, oidECDSAWithSHA256},
		{"ECDSA P-256 SHA-384", newIdentity(t, "ec", ecKey(t), nil), crypto.SHA384, crypto.SHA384, oidECDSAWithSHA384},
		{"Ed25519", newIdentity(t, "ed", edKey(t), nil), crypto.SHA512, crypto.SHA512, oidEd25519},
		{"critical AKI signer", newIdentity(t, "MDM SCEP SIGNER", rsaKey(t, 1), func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: oidAuthorityKeyID, Critical: true, Value: akiValue}}
		}), crypto.SHA256, crypto.SHA256, oidRSAEncryption},
		{"negative serial signer", identityFromDER(t, resign(t, rsaIdentity(t, 2).der, rsaKey(t, 2), []byte{0x80, 0x01}), rsaKey(t, 2)),
			crypto.SHA1, crypto.SHA1, oidRSAEncryption},
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := newIdentity(t, "other", otherKey, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := []byte("the quick brown fox: " + tt.name)
			der, err := Sign(&SignParams{
				Content: content, Signer: tt.id.cert, Key: tt.id.key, Hash: tt.hash,
				SigningTime: signingTime, Attributes: []Attribute{msgType},
				Certificates: [][]byte{other.der, tt.id.der},
			})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			sd, err := ParseSignedData(der)
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			if !sd.ContentType.Equal(OIDData) || !bytes.Equal(sd.Content, content) {
				t.Fatalf("content = %v %q, want id-data %q", sd.ContentType, sd.Content, content)
			}
			if len(sd.Signers) != 1 || len(sd.Certificates) != 2 {
				t.Fatalf("%d signers, %d certificates; want 1 and 2", len(sd.Signers), len(sd.Certificates))
			}
			si := sd.Signers[0]
			if h, err := HashFromOID(si.DigestAlgorithm); err != nil || h != tt.wantHash {
				t.Errorf("digest algorithm %v (%v), want %v", si.DigestAlgorithm, err, tt.wantHash)
			}
			if !si.SignatureAlgorithm.Equal(tt.wantSigAl) {
				t.Errorf("signature algorithm %v, want %v", si.SignatureAlgorithm, tt.wantSigAl)
			}
			c, err := sd.SignerCertificate(si)
			if err != nil {
				t.Fatalf("SignerCertificate: %v", err)
			}
			if !bytes.Equal(c.Raw, tt.id.der) {
				t.Fatal("SignerCertificate returned the wrong certificate")
			}
			if err := sd.Verify(si, c.PublicKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := sd.Verify(si, other.cert.PublicKey); !errors.Is(err, ErrVerification) {
				t.Errorf("Verify with another key: %v", err)
			}
			if st, ok := si.SigningTime(); !ok || !st.Equal(signingTime) {
				t.Errorf("SigningTime = %v %v, want %v", st, ok, signingTime)
			}
			if v, ok := si.Attr(oidSCEPMessageType); !ok || string(v.Bytes) != "19" {
				t.Errorf("messageType attribute = %q %v", v.Bytes, ok)
			}
			if _, ok := si.Attr(asn1.ObjectIdentifier{1, 2, 3}); ok {
				t.Error("Attr found an attribute that is not there")
			}
		})
	}
}

func TestSignDetachedAndContentType(t *testing.T) {
	id := rsaIdentity(t, 0)
	content := []byte("detached content")
	der, err := Sign(&SignParams{Content: content, Detached: true, Signer: id.cert, Key: id.key})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := ParseSignedData(der)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Content != nil {
		t.Fatalf("detached message carries content %q", sd.Content)
	}
	if bytes.Contains(der, content) {
		t.Fatal("detached content is in the message")
	}
	if len(sd.Certificates) != 0 {
		t.Fatal("certificates embedded though none were given")
	}
	if _, err := sd.SignerCertificate(sd.Signers[0]); err == nil {
		t.Fatal("SignerCertificate found a certificate in an empty set")
	}
	c, err := sd.SignerCertificate(sd.Signers[0], rsaIdentity(t, 1).cert, id.cert)
	if err != nil || !bytes.Equal(c.Raw, id.der) {
		t.Fatalf("SignerCertificate with extra: %v", err)
	}
	sd.Content = content
	if err := sd.Verify(sd.Signers[0], id.cert.PublicKey); err != nil {
		t.Fatalf("Verify with the detached content: %v", err)
	}
	sd.Content = []byte("other content")
	if err := sd.Verify(sd.Signers[0], id.cert.PublicKey); !errors.Is(err, ErrVerification) {
		t.Fatalf("Verify with the wrong content: %v, want ErrVerification", err)
	}

	// A non-data content type and empty content.
	der, err = Sign(&SignParams{ContentType: OIDEnvelopedData, Signer: id.cert, Key: id.key})
	if err != nil {
		t.Fatal(err)
	}
	if sd, err = ParseSignedData(der); err != nil {
		t.Fatal(err)
	}
	if !sd.ContentType.Equal(OIDEnvelopedData) || sd.Content == nil || len(sd.Content) != 0 {
		t.Fatalf("content type %v, content %v; want envelopedData and an empty non-nil content", sd.ContentType, sd.Content)
	}
	if err := sd.Verify(sd.Signers[0], id.cert.PublicKey); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestSignCertificateOrder(t *testing.T) {
	ids := []*identity{rsaIdentity(t, 0), rsaIdentity(t, 1), newIdentity(t, "ec", ecKey(t), nil), newIdentity(t, "ed", edKey(t), nil)}
	orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1}}
	for _, order := range orders {
		var certs [][]byte
		for _, i := range order {
			certs = append(certs, ids[i].der)
		}
		der, err := Sign(&SignParams{Content: []byte("x"), Signer: ids[0].cert, Key: ids[0].key, Certificates: certs})
		if err != nil {
			t.Fatal(err)
		}
		sd, err := ParseSignedData(der)
		if err != nil {
			t.Fatal(err)
		}
		if len(sd.Certificates) != len(certs) {
			t.Fatalf("order %v: %d certificates back", order, len(sd.Certificates))
		}
		for i, c := range sd.Certificates {
			if !bytes.Equal(c.Raw, certs[i]) {
				t.Fatalf("order %v: certificate %d differs", order, i)
			}
		}
	}
}

func TestDegenerate(t *testing.T) {
	ca := newIdentity(t, "ca", rsaKey(t, 0), func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	})
	var crls [][]byte
	for i := 1; i <= 2; i++ {
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(int64(i)), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		}, ca.x509, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		crls = append(crls, crl)
	}
	leaf := newIdentity(t, "leaf", ecKey(t), nil)
	tests := []struct {
		name  string
		certs [][]byte
		crls  [][]byte
	}{
		{"certificates", [][]byte{leaf.der, ca.der}, nil},
		{"certificates and CRLs", [][]byte{ca.der, leaf.der}, crls},
		{"CRLs only", nil, [][]byte{crls[1], crls[0]}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := Degenerate(tt.certs, tt.crls)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := ParseSignedData(der)
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			if len(sd.Signers) != 0 || sd.Content != nil || !sd.ContentType.Equal(OIDData) {
				t.Fatalf("signers %d, content %v, type %v", len(sd.Signers), sd.Content, sd.ContentType)
			}
			if len(sd.Certificates) != len(tt.certs) || len(sd.RawCRLs) != len(tt.crls) {
				t.Fatalf("%d certificates, %d CRLs back", len(sd.Certificates), len(sd.RawCRLs))
			}
			for i := range tt.certs {
				if !bytes.Equal(sd.Certificates[i].Raw, tt.certs[i]) {
					t.Errorf("certificate %d differs", i)
				}
			}
			for i := range tt.crls {
				if !bytes.Equal(sd.RawCRLs[i], tt.crls[i]) {
					t.Errorf("CRL %d differs", i)
				}
				if _, err := x509.ParseRevocationList(sd.RawCRLs[i]); err != nil {
					t.Errorf("CRL %d: %v", i, err)
				}
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	content := []byte("tamper-evident content")
	tests := []struct {
		name string
		id   *identity
	}{
		{"RSA", rsaIdentity(t, 0)},
		{"ECDSA", newIdentity(t, "ec", ecKey(t), nil)},
		{"Ed25519", newIdentity(t, "ed", edKey(t), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := Sign(&SignParams{Content: content, Signer: tt.id.cert, Key: tt.id.key,
				SigningTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			orig, err := ParseSignedData(der)
			if err != nil {
				t.Fatal(err)
			}
			flip := func(needle []byte, off int) []byte {
				i := bytes.Index(der, needle)
				if i < 0 {
					t.Fatalf("% x not in the message", needle)
				}
				mut := bytes.Clone(der)
				mut[i+off] ^= 0x01
				return mut
			}
			cases := []struct {
				name string
				der  []byte
			}{
				{"content", flip(content, 3)},
				{"signature first byte", flip(orig.Signers[0].Signature, 0)},
				{"signature last byte", flip(orig.Signers[0].Signature, len(orig.Signers[0].Signature)-1)},
				{"signing time", flip([]byte("300101"), 1)},
			}
			for _, c := range cases {
				sd, err := ParseSignedData(c.der)
				if err != nil {
					t.Fatalf("%s: ParseSignedData: %v", c.name, err)
				}
				if err := sd.Verify(sd.Signers[0], tt.id.cert.PublicKey); !errors.Is(err, ErrVerification) {
					t.Errorf("%s: Verify = %v, want ErrVerification", c.name, err)
				}
			}
			if err := orig.Verify(orig.Signers[0], tt.id.cert.PublicKey); err != nil {
				t.Fatalf("untampered: %v", err)
			}
		})
	}
}

func TestVerifyBER(t *testing.T) {
	id := rsaIdentity(t, 0)
	content := bytes.Repeat([]byte("0123456789abcdef"), 40)
	der, err := Sign(&SignParams{Content: content, Signer: id.cert, Key: id.key, Certificates: [][]byte{id.der}, SigningTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 13, 100, 512} {
		ber := toBER(t, der, chunk)
		sd, err := ParseSignedData(ber)
		if err != nil {
			t.Fatalf("chunk %d: ParseSignedData: %v", chunk, err)
		}
		if !bytes.Equal(sd.Content, content) {
			t.Fatalf("chunk %d: content differs", chunk)
		}
		if len(sd.Certificates) != 1 || !bytes.Equal(sd.Certificates[0].Raw, id.der) {
			t.Fatalf("chunk %d: certificate not restored", chunk)
		}
		c, err := sd.SignerCertificate(sd.Signers[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.Verify(sd.Signers[0], c.PublicKey); err != nil {
			t.Fatalf("chunk %d: Verify: %v", chunk, err)
		}
	}
}

func TestSignErrors(t *testing.T) {
	id := rsaIdentity(t, 0)
	tests := []struct {
		name    string
		p       SignParams
		wantErr error // nil: any error
	}{
		{"no signer", SignParams{Key: id.key}, nil},
		{"no key", SignParams{Signer: id.cert}, nil},
		{"MD5", SignParams{Signer: id.cert, Key: id.key, Hash: crypto.MD5}, ErrUnsupportedAlgorithm},
		{"unknown key type", SignParams{Signer: id.cert, Key: oddSigner{}}, ErrUnsupportedAlgorithm},
		{"attribute without encoding", SignParams{Signer: id.cert, Key: id.key,
			Attributes: []Attribute{{Type: oidSCEPMessageType, Values: []asn1.RawValue{{Bytes: []byte("19")}}}}}, nil},
		{"failing key", SignParams{Signer: id.cert, Key: failingSigner{id.key}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := Sign(&tt.p)
			if err == nil {
				t.Fatalf("Sign = %d bytes, want error", len(der))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Sign: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

type oddSigner struct{}

func (oddSigner) Public() crypto.PublicKey { return "not a key" }
func (oddSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("unreachable")
}

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("HSM unavailable")
}

// randRecorder checks that Sign hands the key a non-nil entropy source.
type randRecorder struct {
	crypto.Signer
	gotNil bool
}

func (r *randRecorder) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.gotNil = rnd == nil
	return r.Signer.Sign(rnd, digest, opts)
}

func TestSignNilRandMeansCryptoRand(t *testing.T) {
	id := newIdentity(t, "ec", ecKey(t), nil)
	rec := &randRecorder{Signer: id.key}
	if _, err := Sign(&SignParams{Signer: id.cert, Key: rec}); err != nil {
		t.Fatal(err)
	}
	if rec.gotNil {
		t.Fatal("Sign passed a nil io.Reader to the key; SignParams.Rand nil promises crypto/rand")
	}
}

func TestHashOIDs(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		oid, err := OIDFromHash(h)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		if back, err := HashFromOID(oid); err != nil || back != h {
			t.Fatalf("%v: round trip gave %v, %v", h, back, err)
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{oidMD5, {1, 2, 3}} {
		if _, err := HashFromOID(oid); !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("HashFromOID(%v) = %v, want ErrUnsupportedAlgorithm", oid, err)
		}
	}
	if _, err := OIDFromHash(crypto.MD5); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("OIDFromHash(MD5) = %v", err)
	}
}
