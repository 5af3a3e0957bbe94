package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/asn1"
	"errors"
	"io"
	"strings"
	"testing"
)

// This file edits Encrypt output and builds EnvelopedData by hand, to
// produce what Encrypt never would.

// replaceInBER re-encodes der with indefinite lengths everywhere, so that
// elements can be swapped for ones of another size without fixing up the
// enclosing lengths, then replaces each old element (given as DER) by its
// new one. Each old element must occur exactly once.
func replaceInBER(t testing.TB, der []byte, pairs ...[]byte) []byte {
	t.Helper()
	const noChunks = 1 << 30
	out := toBER(t, der, noChunks)
	for i := 0; i+1 < len(pairs); i += 2 {
		old := toBER(t, pairs[i], noChunks)
		if n := bytes.Count(out, old); n != 1 {
			t.Fatalf("replaceInBER: element % x occurs %d times", pairs[i], n)
		}
		out = bytes.Replace(out, old, pairs[i+1], 1)
	}
	return out
}

// knownKeyEncrypt encrypts with a known content key and IV.
func knownKeyEncrypt(t testing.TB, content, cek, iv []byte, c Cipher, kt KeyTransport, to *identity) []byte {
	t.Helper()
	rnd := io.MultiReader(bytes.NewReader(append(bytes.Clone(cek), iv...)), rand.Reader)
	der, err := Encrypt(rnd, content, c, kt, []*Certificate{to.cert})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func explicitTLV(tag byte, inner []byte) []byte { return appendTLV(nil, []byte{0xa0 | tag}, inner) }

func oaepParamsDER(hash asn1.ObjectIdentifier, mgf []byte, label []byte) []byte {
	var p []byte
	if hash != nil {
		p = append(p, explicitTLV(0, algDER(hash, derNull))...)
	}
	p = append(p, mgf...)
	if label != nil {
		p = append(p, explicitTLV(2, algDER(oidPSpecified, appendTLV(nil, []byte{0x04}, label)))...)
	}
	return appendTLV(nil, []byte{0x30}, p)
}

func TestDecryptOAEPParameters(t *testing.T) {
	id := rsaIdentity(t, 0)
	pub := &rsaKey(t, 0).PublicKey
	cek := bytes.Repeat([]byte{0x42}, 16)
	iv := bytes.Repeat([]byte{0x24}, 16)
	content := []byte("OAEP as NDES sends it")
	der := knownKeyEncrypt(t, content, cek, iv, AES128CBC, RSAOAEP, id)
	e, err := ParseEnvelopedData(der)
	if err != nil {
		t.Fatal(err)
	}
	oldAlg := algDER(oidRSAESOAEP, []byte{0x30, 0x00})
	oldKey := appendTLV(nil, []byte{0x04}, e.Recipients[0].EncryptedKey)
	mgf1 := func(h asn1.ObjectIdentifier) []byte { return explicitTLV(1, algDER(oidMGF1, algDER(h, derNull))) }
	encrypt := func(h crypto.Hash, label []byte) []byte {
		ek, err := rsa.EncryptOAEP(h.New(), rand.Reader, pub, cek, label)
		if err != nil {
			t.Fatal(err)
		}
		return ek
	}
	tests := []struct {
		name    string
		params  []byte // nil: no parameters field at all
		ek      []byte
		wantErr error // nil: must decrypt
	}{
		{"absent parameters", nil, encrypt(crypto.SHA1, nil), nil},
		{"NULL parameters", derNull, encrypt(crypto.SHA1, nil), nil},
		{"explicit SHA-1", oaepParamsDER(oidSHA1, mgf1(oidSHA1), nil), encrypt(crypto.SHA1, nil), nil},
		{"SHA-256 with MGF1-SHA-256", oaepParamsDER(oidSHA256, mgf1(oidSHA256), nil), encrypt(crypto.SHA256, nil), nil},
		{"SHA-256 key under SHA-1 parameters", oaepParamsDER(oidSHA1, nil, nil), encrypt(crypto.SHA256, nil), ErrDecrypt},
		{"label", oaepParamsDER(nil, nil, []byte("scep")), encrypt(crypto.SHA1, []byte("scep")), nil},
		{"wrong label", oaepParamsDER(nil, nil, []byte("scep")), encrypt(crypto.SHA1, []byte("other")), ErrDecrypt},
		{"MD5 hash", oaepParamsDER(oidMD5, nil, nil), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
		{"MGF1 with MD5", oaepParamsDER(nil, mgf1(oidMD5), nil), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
		{"unknown mask generation", oaepParamsDER(nil, explicitTLV(1, algDER(oidSHA256, nil)), nil), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
		{"MGF1 without hash", oaepParamsDER(nil, explicitTLV(1, algDER(oidMGF1, nil)), nil), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
		{"empty parameters SEQUENCE", oaepParamsDER(nil, nil, nil), encrypt(crypto.SHA1, nil), nil},
		{"malformed parameters", mustMarshal(5), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
		{"label source not pSpecified", appendTLV(nil, []byte{0x30}, explicitTLV(2, algDER(oidSHA1, nil))), encrypt(crypto.SHA1, nil), ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := replaceInBER(t, der, oldAlg, algDER(oidRSAESOAEP, tt.params), oldKey, appendTLV(nil, []byte{0x04}, tt.ek))
			e, err := ParseEnvelopedData(msg)
			if err != nil {
				t.Fatalf("ParseEnvelopedData: %v", err)
			}
			got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
		})
	}
	t.Run("content key of the wrong length", func(t *testing.T) {
		ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, cek[:5], nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParseEnvelopedData(replaceInBER(t, der, oldKey, appendTLV(nil, []byte{0x04}, ek)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Decrypt = %v, want ErrDecrypt", err)
		}
	})
}

func TestDecryptEdited(t *testing.T) {
	id := rsaIdentity(t, 0)
	noSKI := newIdentity(t, "rsa-a", rsaKey(t, 0), nil)
	noSKI.x509.SubjectKeyId = nil
	cek, iv := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16)
	content := []byte("edited envelope")
	der := knownKeyEncrypt(t, content, cek, iv, AES128CBC, RSAPKCS1v15, id)
	oaep := knownKeyEncrypt(t, content, cek, iv, AES128CBC, RSAOAEP, id)
	ski := appendTLV(nil, []byte{0x80}, id.cert.SubjectKeyID)
	tests := []struct {
		name    string
		msg     []byte
		as      *identity
		wantErr error // nil: must decrypt
	}{
		{"BER, encrypted content in segments", toBER(t, der, 5, 0x80), id, nil},
		{"BER, one-byte segments", toBER(t, der, 1, 0x80), id, nil},
		{"subject key identifier recipient", replaceInBER(t, der, IssuerAndSerialOf(id.cert).Marshal(), ski), id, nil},
		{"subject key identifier, certificate without one", replaceInBER(t, der, IssuerAndSerialOf(id.cert).Marshal(), ski), noSKI, ErrNoRecipient},
		{"unknown content cipher", replaceInBER(t, der, mustMarshal(oidAES128CBC), mustMarshal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6})), id, ErrUnsupportedAlgorithm},
		{"unknown key transport", replaceInBER(t, der, mustMarshal(oidRSAEncryption), mustMarshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 2})), id, ErrUnsupportedAlgorithm},
		// With PKCS #1 v1.5 a key of the wrong length becomes a random one
		// (see TestDecryptWrongKeyPKCS1); OAEP fails deterministically.
		{"AES-128 key declared AES-256", replaceInBER(t, oaep, mustMarshal(oidAES128CBC), mustMarshal(oidAES256CBC)), id, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEnvelopedData(tt.msg)
			if err != nil {
				t.Fatalf("ParseEnvelopedData: %v", err)
			}
			got, err := e.Decrypt(tt.as.x509, tt.as.key.(crypto.Decrypter), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
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

// buildEnveloped assembles an EnvelopedData from its recipientInfos field
// and encryptedContentInfo, both DER.
func buildEnveloped(ris, eci []byte) []byte {
	var body []byte
	body = append(body, mustMarshal(0)...)
	body = append(body, ris...)
	body = append(body, eci...)
	return wrapContentInfo(OIDEnvelopedData, appendTLV(nil, []byte{0x30}, body))
}

func TestParseEnvelopedDataErrors(t *testing.T) {
	id := rsaIdentity(t, 0)
	iv := bytes.Repeat([]byte{1}, 16)
	der := knownKeyEncrypt(t, []byte("x"), bytes.Repeat([]byte{2}, 16), iv, AES128CBC, RSAPKCS1v15, id)
	e, err := ParseEnvelopedData(der)
	if err != nil {
		t.Fatal(err)
	}
	ktri := func(rid []byte) []byte {
		var b []byte
		b = append(b, mustMarshal(0)...)
		b = append(b, rid...)
		b = append(b, algDER(oidRSAEncryption, derNull)...)
		b = appendTLV(b, []byte{0x04}, e.Recipients[0].EncryptedKey)
		return appendTLV(nil, []byte{0x30}, b)
	}
	good := ktri(IssuerAndSerialOf(id.cert).Marshal())
	set := func(els ...[]byte) []byte { return appendTLV(nil, []byte{0x31}, bytes.Join(els, nil)) }
	eciWith := func(alg, content []byte) []byte {
		b := mustMarshal(OIDData)
		b = append(b, alg...)
		b = append(b, content...)
		return appendTLV(nil, []byte{0x30}, b)
	}
	aesAlg := algDER(oidAES128CBC, mustMarshal(iv))
	ct := appendTLV(nil, []byte{0x80}, e.EncryptedContent)
	eci := eciWith(aesAlg, ct)
	var many [][]byte
	for i := 0; i <= maxRecipients; i++ {
		many = append(many, good)
	}
	signed, err := Degenerate(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	kari := appendTLV(nil, []byte{0xa1}, mustMarshal(3))

	t.Run("valid hand-built", func(t *testing.T) {
		e, err := ParseEnvelopedData(buildEnveloped(set(kari, good), eci))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Recipients) != 1 {
			t.Fatalf("%d recipients; the key agreement one should be skipped", len(e.Recipients))
		}
		if got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil); err != nil || string(got) != "x" {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
	})
	tests := []struct {
		name string
		der  []byte
		want string
	}{
		{"signed data", signed, "content type"},
		{"empty", nil, "BER"},
		{"IV too short", buildEnveloped(set(good), eciWith(algDER(oidAES128CBC, mustMarshal(iv[:8])), ct)), "IV"},
		{"IV missing", buildEnveloped(set(good), eciWith(algDER(oidAES128CBC, nil), ct)), "IV"},
		{"IV not OCTET STRING", buildEnveloped(set(good), eciWith(algDER(oidAES128CBC, derNull), ct)), "IV"},
		{"recipient infos not a SET", buildEnveloped(appendTLV(nil, []byte{0x30}, good), eci), "not a SET"},
		{"malformed recipient", buildEnveloped(set(mustHex(t, "30 03 02 01 00")), eci), "recipient info"},
		{"unknown recipient identifier", buildEnveloped(set(ktri(mustHex(t, "81 01 00"))), eci), "recipient identifier"},
		{"bad issuer and serial", buildEnveloped(set(ktri(mustHex(t, "30 02 02 00"))), eci), "issuerAndSerialNumber"},
		{"too many recipients", buildEnveloped(set(many...), eci), "more than"},
		{"bad encrypted content segment", buildEnveloped(set(good), eciWith(aesAlg, mustHex(t, "a0 03 02 01 05"))), "segment"},
		{"trailing data", append(bytes.Clone(der), 0), "trailing"},
		{"missing encrypted content info", buildEnveloped(set(good), nil), "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEnvelopedData(tt.der)
			if err == nil {
				t.Fatalf("ParseEnvelopedData = %+v, want error", e)
			}
			if !strings.HasPrefix(err.Error(), "cms: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want a cms error containing %q", err, tt.want)
			}
		})
	}
}
