package certutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"testing"
)

func TestRandomSerial(t *testing.T) {
	for i := 0; i < 200; i++ {
		s, err := RandomSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if s.Sign() <= 0 || s.BitLen() != 127 {
			t.Fatalf("serial %x has %d bits, want a positive 127-bit number (16 DER octets)", s, s.BitLen())
		}
	}
	if _, err := RandomSerial(bytes.NewReader(make([]byte, 3))); err == nil {
		t.Error("RandomSerial with too little entropy succeeded")
	}
}

func TestSubjectKeyID(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	// For an EC key the subjectPublicKey bits are the uncompressed point.
	point, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	want := sha1.Sum(point.Bytes())
	if got := SubjectKeyID(spki); !bytes.Equal(got, want[:]) {
		t.Errorf("SubjectKeyID = %x, want %x (method 1)", got, want)
	}
	garbage := []byte("not a SubjectPublicKeyInfo")
	whole := sha1.Sum(garbage)
	if got := SubjectKeyID(garbage); !bytes.Equal(got, whole[:]) {
		t.Errorf("SubjectKeyID(garbage) = %x, want the SHA-1 of the input", got)
	}
}
