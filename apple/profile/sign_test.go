package profile_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/profile"
	"github.com/mdmkit/mdmkit/internal/cms"
)

func enrollmentBytes(t testing.TB) []byte {
	t.Helper()
	b, err := profile.NewEnrollment(minimal())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerify(t *testing.T) {
	fixed := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		key   keyKind
		chain func(*chain) []*x509.Certificate
		certs int // certificates in the SignedData
	}{
		{"RSA with intermediate", rsaKey, func(c *chain) []*x509.Certificate { return []*x509.Certificate{c.inter.cert} }, 2},
		{"ECDSA with intermediate", ecdsaKey, func(c *chain) []*x509.Certificate { return []*x509.Certificate{c.inter.cert} }, 2},
		{"RSA with intermediate and root", rsaKey, func(c *chain) []*x509.Certificate {
			return []*x509.Certificate{c.inter.cert, c.root.cert}
		}, 3},
		{"signer repeated in chain", ecdsaKey, func(c *chain) []*x509.Certificate {
			return []*x509.Certificate{c.leaf.cert, c.inter.cert}
		}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newChain(t, tt.key)
			content := enrollmentBytes(t)
			signed, err := profile.Sign(content, c.leaf.cert, c.leaf.key, tt.chain(c), &profile.SignOptions{
				Now: func() time.Time { return fixed },
			})
			if err != nil {
				t.Fatal(err)
			}
			got, signer, err := profile.Verify(signed, c.roots())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Error("Verify returned other content")
			}
			if !signer.Equal(c.leaf.cert) {
				t.Errorf("signer %s, want %s", signer.Subject, c.leaf.cert.Subject)
			}
			decode(t, got)

			// The SignedData as the spec asks: attached id-data, SHA-256,
			// signer first, a signingTime from the clock.
			sd, err := cms.ParseSignedData(signed)
			if err != nil {
				t.Fatal(err)
			}
			if !sd.ContentType.Equal(cms.OIDData) {
				t.Errorf("content type %v", sd.ContentType)
			}
			if len(sd.Certificates) != tt.certs || !bytes.Equal(sd.Certificates[0].Raw, c.leaf.cert.Raw) {
				t.Errorf("%d certificates, first %v; want %d, signer first", len(sd.Certificates), sd.Certificates[0].Parsed.Subject, tt.certs)
			}
			si := sd.Signers[0]
			if h, err := cms.HashFromOID(si.DigestAlgorithm); err != nil || h != crypto.SHA256 {
				t.Errorf("digest %v (%v), want SHA-256", si.DigestAlgorithm, err)
			}
			if st, ok := si.SigningTime(); !ok || !st.Equal(fixed) {
				t.Errorf("signingTime %v (%v), want %v", st, ok, fixed)
			}
		})
	}
}

func TestSignHashes(t *testing.T) {
	c := newChain(t, ecdsaKey)
	content := enrollmentBytes(t)
	for _, h := range []crypto.Hash{crypto.SHA384, crypto.SHA512} {
		signed, err := profile.Sign(content, c.leaf.cert, c.leaf.key, []*x509.Certificate{c.inter.cert}, &profile.SignOptions{Hash: h})
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		sd, err := cms.ParseSignedData(signed)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := cms.HashFromOID(sd.Signers[0].DigestAlgorithm); got != h {
			t.Errorf("digest %v, want %v", got, h)
		}
		if _, _, err := profile.Verify(signed, c.roots()); err != nil {
			t.Errorf("%v: %v", h, err)
		}
	}
}

func TestSignErrors(t *testing.T) {
	c := newChain(t, rsaKey)
	other := newChain(t, ecdsaKey)
	content := enrollmentBytes(t)
	signed, err := profile.Sign(content, c.leaf.cert, c.leaf.key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
		signer  *x509.Certificate
		key     crypto.Signer
		chain   []*x509.Certificate
		opts    *profile.SignOptions
		want    string
	}{
		{"empty profile", nil, c.leaf.cert, c.leaf.key, nil, nil, "empty profile"},
		{"not a plist", []byte("hello"), c.leaf.cert, c.leaf.key, nil, nil, "not a property list"},
		{"already signed", signed, c.leaf.cert, c.leaf.key, nil, nil, "not a property list"},
		{"array plist", []byte(`<?xml version="1.0"?><plist version="1.0"><array/></plist>`), c.leaf.cert, c.leaf.key, nil, nil, "not a property list dictionary"},
		{"no signer", content, nil, c.leaf.key, nil, nil, "signer certificate is required"},
		{"no key", content, c.leaf.cert, nil, nil, nil, "key is required"},
		{"mismatched key", content, c.leaf.cert, other.leaf.key, nil, nil, "does not match"},
		{"SHA-1", content, c.leaf.cert, c.leaf.key, nil, &profile.SignOptions{Hash: crypto.SHA1}, "want SHA-256"},
		{"nil chain entry", content, c.leaf.cert, c.leaf.key, []*x509.Certificate{nil}, nil, "chain certificate 0 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := profile.Sign(tt.content, tt.signer, tt.key, tt.chain, tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "profile: sign:") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one starting \"profile: sign:\" and containing %q", err, tt.want)
			}
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	c := newChain(t, rsaKey)
	content := enrollmentBytes(t)
	inter := []*x509.Certificate{c.inter.cert}
	signed, err := profile.Sign(content, c.leaf.cert, c.leaf.key, inter, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Change one byte of the profile inside the SignedData.
	i := bytes.Index(signed, []byte("https://mdm.example.com/mdm"))
	if i < 0 {
		t.Fatal("content not found in the SignedData")
	}
	tampered := bytes.Clone(signed)
	tampered[i+8] = 'X'

	noInter, err := profile.Sign(content, c.leaf.cert, c.leaf.key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := newChain(t, rsaKey).roots()

	expired := issue(t, "expired", rsaKey, c.inter, func(x *x509.Certificate) {
		x.NotBefore = time.Now().Add(-48 * time.Hour)
		x.NotAfter = time.Now().Add(-24 * time.Hour)
	})
	expiredSigned, err := profile.Sign(content, expired.cert, expired.key, inter, nil)
	if err != nil {
		t.Fatal(err)
	}

	detached, err := cms.Sign(&cms.SignParams{Content: content, Detached: true, Signer: cms.FromX509(c.leaf.cert), Key: c.leaf.key})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		signed   []byte
		roots    *x509.CertPool
		verifErr bool // wraps ErrVerification
		want     string
	}{
		{"tampered content", tampered, c.roots(), true, "message digest mismatch"},
		{"untrusted root", signed, otherRoots, true, "signer certificate"},
		{"missing intermediate", noInter, c.roots(), true, "signer certificate"},
		{"expired signer", expiredSigned, c.roots(), true, "expired"},
		{"detached", detached, c.roots(), false, "detached"},
		{"garbage", []byte("not DER"), c.roots(), false, "not a signed profile"},
		{"empty", nil, c.roots(), false, "not a signed profile"},
		{"truncated", signed[:len(signed)/2], c.roots(), false, "not a signed profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, signer, err := profile.Verify(tt.signed, tt.roots)
			if err == nil {
				t.Fatal("no error")
			}
			if got != nil || signer != nil {
				t.Error("content or signer returned with an error")
			}
			if errors.Is(err, profile.ErrVerification) != tt.verifErr {
				t.Errorf("errors.Is(err, ErrVerification) = %v, want %v (%v)", !tt.verifErr, tt.verifErr, err)
			}
			if !strings.HasPrefix(err.Error(), "profile:") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A changed signature byte, not the content, also fails.
func TestVerifyTamperedSignature(t *testing.T) {
	c := newChain(t, ecdsaKey)
	signed, err := profile.Sign(enrollmentBytes(t), c.leaf.cert, c.leaf.key, []*x509.Certificate{c.inter.cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.ParseSignedData(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig := sd.Signers[0].Signature
	i := bytes.Index(signed, sig)
	if i < 0 {
		t.Fatal("signature not found")
	}
	bad := bytes.Clone(signed)
	bad[i+len(sig)-1] ^= 1
	if _, _, err := profile.Verify(bad, c.roots()); !errors.Is(err, profile.ErrVerification) {
		t.Errorf("error %v, want ErrVerification", err)
	}
}

func FuzzVerify(f *testing.F) {
	c := newChain(f, ecdsaKey)
	signed, err := profile.Sign(enrollmentBytes(f), c.leaf.cert, c.leaf.key, []*x509.Certificate{c.inter.cert}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(signed[:100])
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	roots := c.roots()
	f.Fuzz(func(t *testing.T, b []byte) {
		content, signer, err := profile.Verify(b, roots)
		if err != nil {
			if content != nil || signer != nil {
				t.Fatal("content or signer with an error")
			}
			return
		}
		if content == nil || signer == nil {
			t.Fatal("success without content or signer")
		}
	})
}

// A profile with a value larger than the decoder's default limit is the
// host's own and still signs.
func TestSignLargeProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 17 MiB profile")
	}
	c := newChain(t, ecdsaKey)
	big := &profile.Configuration{
		PayloadHeader: hdr("", "com.example.big", "B0"),
		PayloadContent: []any{&profile.Payload{
			PayloadHeader: hdr("com.example.blob", "com.example.big.1", "B1"),
			Content:       map[string]any{"Blob": bytes.Repeat([]byte{0xa5}, 17<<20)},
		}},
	}
	b, err := big.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := profile.Sign(b, c.leaf.cert, c.leaf.key, []*x509.Certificate{c.inter.cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := profile.Verify(signed, c.roots())
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("round trip: %v", err)
	}
}
