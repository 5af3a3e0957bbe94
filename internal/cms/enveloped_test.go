package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"testing"
)

var allCiphers = []Cipher{AES128CBC, AES192CBC, AES256CBC, DES3CBC, DESCBC}

// decryptErr reports whether err is one of the errors Decrypt documents.
func decryptErr(err error) bool {
	return errors.Is(err, ErrNoRecipient) || errors.Is(err, ErrUnsupportedAlgorithm) || errors.Is(err, ErrDecrypt)
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	id := rsaIdentity(t, 0)
	sizes := []int{0, 1, 15, 16, 17, 1000}
	for _, c := range allCiphers {
		for _, kt := range []KeyTransport{RSAPKCS1v15, RSAOAEP} {
			t.Run(fmt.Sprintf("%v/%d", c, kt), func(t *testing.T) {
				wantKeyAlg := oidRSAEncryption
				if kt == RSAOAEP {
					wantKeyAlg = oidRSAESOAEP
				}
				wantOID, _, blockLen := c.params()
				for _, n := range sizes {
					content := bytes.Repeat([]byte{'m'}, n)
					der, err := Encrypt(nil, content, c, kt, []*Certificate{id.cert})
					if err != nil {
						t.Fatalf("Encrypt: %v", err)
					}
					if n >= 16 && bytes.Contains(der, content) {
						t.Fatal("plaintext visible in the envelope")
					}
					e, err := ParseEnvelopedData(der)
					if err != nil {
						t.Fatalf("ParseEnvelopedData: %v", err)
					}
					if e.Cipher != c || !e.cipherOID.Equal(wantOID) || !e.ContentType.Equal(OIDData) {
						t.Fatalf("cipher %v (%v), content type %v", e.Cipher, e.cipherOID, e.ContentType)
					}
					if len(e.Recipients) != 1 || !e.Recipients[0].KeyAlgorithm.Equal(wantKeyAlg) ||
						e.Recipients[0].IssuerAndSerial == nil || !e.Recipients[0].IssuerAndSerial.Matches(id.cert) {
						t.Fatalf("recipients = %+v", e.Recipients)
					}
					if ct := len(e.EncryptedContent); ct%blockLen != 0 || ct <= n || ct > n+blockLen {
						t.Fatalf("%d bytes of ciphertext for %d of content", ct, n)
					}
					got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), &DecryptOptions{AllowDES: c == DESCBC})
					if err != nil {
						t.Fatalf("Decrypt: %v", err)
					}
					if !bytes.Equal(got, content) {
						t.Fatalf("Decrypt = %q, want %q", got, content)
					}
				}
			})
		}
	}
}

func TestDecryptDESPolicy(t *testing.T) {
	id := rsaIdentity(t, 0)
	content := []byte("legacy client")
	der, err := Encrypt(nil, content, DESCBC, RSAPKCS1v15, []*Certificate{id.cert})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelopedData(der)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    *DecryptOptions
		wantErr error
	}{
		{"nil options", nil, ErrUnsupportedAlgorithm},
		{"zero options", &DecryptOptions{}, ErrUnsupportedAlgorithm},
		{"AllowDES", &DecryptOptions{AllowDES: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
		})
	}
}

func TestDecryptRecipients(t *testing.T) {
	a, b, c := rsaIdentity(t, 0), rsaIdentity(t, 1), rsaIdentity(t, 2)
	content := []byte("for a and b")
	der, err := Encrypt(nil, content, AES256CBC, RSAOAEP, []*Certificate{a.cert, b.cert})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelopedData(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Recipients) != 2 {
		t.Fatalf("%d recipients", len(e.Recipients))
	}
	for _, id := range []*identity{a, b} {
		got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%s: Decrypt = %q, %v", id.x509.Subject.CommonName, got, err)
		}
	}
	if _, err := e.Decrypt(c.x509, c.key.(crypto.Decrypter), nil); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("Decrypt for a third party = %v, want ErrNoRecipient", err)
	}
	// The right certificate with the wrong key: OAEP fails deterministically.
	if _, err := e.Decrypt(a.x509, b.key.(crypto.Decrypter), nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Decrypt with the wrong key = %v, want ErrDecrypt", err)
	}
}

// TestDecryptWrongKeyPKCS1 opens PKCS #1 v1.5 envelopes with the wrong
// key. Decrypt then uses a random content key (no padding oracle), so the
// content padding is valid by chance about once in 256 tries: the result
// must be ErrDecrypt or garbage, never the content, and mostly ErrDecrypt.
func TestDecryptWrongKeyPKCS1(t *testing.T) {
	a, b := rsaIdentity(t, 0), rsaIdentity(t, 1)
	content := []byte("not for b")
	failures := 0
	const tries = 16
	for i := 0; i < tries; i++ {
		der, err := Encrypt(nil, content, AES128CBC, RSAPKCS1v15, []*Certificate{a.cert})
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParseEnvelopedData(der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Decrypt(a.x509, b.key.(crypto.Decrypter), nil)
		switch {
		case errors.Is(err, ErrDecrypt):
			failures++
		case err != nil:
			t.Fatalf("Decrypt = %v, want ErrDecrypt", err)
		case bytes.Equal(got, content):
			t.Fatal("the wrong key decrypted the content")
		}
	}
	if failures < tries/2 {
		t.Fatalf("only %d of %d wrong-key attempts failed", failures, tries)
	}
}

func TestDecryptCorrupted(t *testing.T) {
	id := rsaIdentity(t, 0)
	key := id.key.(crypto.Decrypter)
	// 16 bytes of content: the last AES block is all padding (0x10).
	content := bytes.Repeat([]byte{'c'}, 16)
	tests := []struct {
		name   string
		kt     KeyTransport
		mutate func(e *EnvelopedData)
	}{
		{"padding byte too large", RSAPKCS1v15, func(e *EnvelopedData) {
			// Flipping a bit of the previous ciphertext block flips the
			// same bit of the last plaintext byte: 0x10 becomes 0x11.
			e.EncryptedContent[len(e.EncryptedContent)-17] ^= 0x01
		}},
		{"padding byte zero", RSAOAEP, func(e *EnvelopedData) { e.EncryptedContent[len(e.EncryptedContent)-17] ^= 0x10 }},
		{"inconsistent padding", RSAOAEP, func(e *EnvelopedData) { e.EncryptedContent[len(e.EncryptedContent)-18] ^= 0x01 }},
		{"ciphertext truncated by a byte", RSAPKCS1v15, func(e *EnvelopedData) { e.EncryptedContent = e.EncryptedContent[:len(e.EncryptedContent)-1] }},
		{"ciphertext shorter than a block", RSAOAEP, func(e *EnvelopedData) { e.EncryptedContent = e.EncryptedContent[:7] }},
		{"no ciphertext", RSAOAEP, func(e *EnvelopedData) { e.EncryptedContent = nil }},
		{"encrypted key truncated", RSAPKCS1v15, func(e *EnvelopedData) { e.Recipients[0].EncryptedKey = e.Recipients[0].EncryptedKey[:100] }},
		{"encrypted key empty", RSAOAEP, func(e *EnvelopedData) { e.Recipients[0].EncryptedKey = nil }},
		{"encrypted key flipped", RSAOAEP, func(e *EnvelopedData) { e.Recipients[0].EncryptedKey[10] ^= 0xff }},
		{"encrypted key too long", RSAOAEP, func(e *EnvelopedData) {
			e.Recipients[0].EncryptedKey = append(e.Recipients[0].EncryptedKey, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := Encrypt(nil, content, AES128CBC, tt.kt, []*Certificate{id.cert})
			if err != nil {
				t.Fatal(err)
			}
			e, err := ParseEnvelopedData(der)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(e)
			got, err := e.Decrypt(id.x509, key, nil)
			if !errors.Is(err, ErrDecrypt) || got != nil {
				t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
			if err != ErrDecrypt {
				t.Fatalf("error %q says more than ErrDecrypt", err)
			}
		})
	}
}

// TestDecryptEveryByteFlipped corrupts each byte of an envelope in turn:
// parsing may fail, but Decrypt must never panic, never return the content
// from a corrupted key or ciphertext, and only return documented errors.
func TestDecryptEveryByteFlipped(t *testing.T) {
	id := rsaIdentity(t, 0)
	der, err := Encrypt(nil, []byte("flip me"), AES128CBC, RSAOAEP, []*Certificate{id.cert})
	if err != nil {
		t.Fatal(err)
	}
	for i := range der {
		mut := bytes.Clone(der)
		mut[i] ^= 0x55
		e, err := ParseEnvelopedData(mut)
		if err != nil {
			continue
		}
		if _, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil); err != nil && !decryptErr(err) {
			t.Fatalf("byte %d: undocumented error %v", i, err)
		}
	}
}

func TestUnpad(t *testing.T) {
	tests := []struct {
		name string
		pt   []byte
		want []byte // nil: ErrDecrypt
	}{
		{"one byte of padding", []byte{'a', 'b', 'c', 1}, []byte("abc")},
		{"full block of padding", bytes.Repeat([]byte{8}, 8), []byte{}},
		{"padding after a block", append([]byte("12345678"), bytes.Repeat([]byte{8}, 8)...), []byte("12345678")},
		{"padding byte 0", []byte{'a', 'b', 'c', 0}, nil},
		{"padding larger than the block", append(bytes.Repeat([]byte{9}, 8), bytes.Repeat([]byte{9}, 8)...), nil},
		{"padding 255", bytes.Repeat([]byte{0xff}, 16), nil},
		{"padding larger than the input", []byte{3, 3}, nil},
		{"inconsistent padding bytes", []byte{'a', 'b', 2, 3, 3}, nil},
		{"inconsistent first padding byte", []byte{'a', 4, 3, 4, 4, 4}, nil},
		{"empty", nil, nil},
		{"single byte 1", []byte{1}, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unpad(tt.pt, 8)
			if tt.want == nil {
				if !errors.Is(err, ErrDecrypt) {
					t.Fatalf("unpad = %q, %v; want ErrDecrypt", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("unpad = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEnvelopedNonRSA(t *testing.T) {
	rsaID := rsaIdentity(t, 0)
	ecID := newIdentity(t, "ec", ecKey(t), nil)
	der, err := Encrypt(nil, []byte("x"), AES128CBC, RSAPKCS1v15, []*Certificate{rsaID.cert})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelopedData(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Decrypt(ecID.x509, ecDecrypter{ecKey(t)}, nil); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("Decrypt with an ECDSA key = %v, want ErrUnsupportedAlgorithm", err)
	}
	if _, err := Encrypt(nil, []byte("x"), AES128CBC, RSAPKCS1v15, []*Certificate{rsaID.cert, ecID.cert}); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("Encrypt to an ECDSA certificate = %v, want ErrUnsupportedAlgorithm", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestEncryptErrors(t *testing.T) {
	id := rsaIdentity(t, 0)
	tests := []struct {
		name    string
		rnd     io.Reader
		c       Cipher
		rcpts   []*Certificate
		wantErr error // nil: any error
	}{
		{"zero cipher", nil, 0, []*Certificate{id.cert}, ErrUnsupportedAlgorithm},
		{"unknown cipher", nil, Cipher(99), []*Certificate{id.cert}, ErrUnsupportedAlgorithm},
		{"no recipients", nil, AES128CBC, nil, nil},
		{"no entropy", failingReader{}, AES128CBC, []*Certificate{id.cert}, nil},
		{"entropy for the key only", io.LimitReader(rand.Reader, 16), AES128CBC, []*Certificate{id.cert}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := Encrypt(tt.rnd, []byte("x"), tt.c, RSAPKCS1v15, tt.rcpts)
			if err == nil {
				t.Fatalf("Encrypt = %d bytes, want error", len(der))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Encrypt: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCipherString(t *testing.T) {
	tests := []struct {
		c    Cipher
		want string
	}{
		{AES128CBC, "AES-128-CBC"}, {AES192CBC, "AES-192-CBC"}, {AES256CBC, "AES-256-CBC"},
		{DES3CBC, "3DES-CBC"}, {DESCBC, "DES-CBC"}, {0, "Cipher(0)"}, {Cipher(-3), "Cipher(-3)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cipher(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestSetDESParity(t *testing.T) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(key)
	setDESParity(key)
	for i, b := range key {
		ones := 0
		for x := b; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 != 1 {
			t.Fatalf("byte %d = %08b has even parity", i, b)
		}
		if b&0xfe != orig[i]&0xfe {
			t.Fatalf("byte %d: key bits changed", i)
		}
	}
}

// ecDecrypter is a crypto.Decrypter with an ECDSA public key, as an HSM
// might expose one.
type ecDecrypter struct{ *ecdsa.PrivateKey }

func (ecDecrypter) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("unreachable")
}
