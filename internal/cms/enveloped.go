package cms

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrNoRecipient: the envelope has no recipient this key can open.
	ErrNoRecipient = errors.New("cms: no matching recipient")
	// ErrDecrypt: the key or the content did not decrypt (wrong key, bad
	// padding). Deliberately uninformative, so it is no padding oracle.
	ErrDecrypt = errors.New("cms: decryption failed")
)

// Cipher is a content-encryption algorithm.
type Cipher int

// Content ciphers. DES is single DES, which RFC 8894 forbids; it is here to
// read (and, when a caller explicitly allows it, answer) legacy clients.
const (
	AES128CBC Cipher = iota + 1
	AES192CBC
	AES256CBC
	DES3CBC
	DESCBC
)

func (c Cipher) String() string {
	switch c {
	case AES128CBC:
		return "AES-128-CBC"
	case AES192CBC:
		return "AES-192-CBC"
	case AES256CBC:
		return "AES-256-CBC"
	case DES3CBC:
		return "3DES-CBC"
	case DESCBC:
		return "DES-CBC"
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

func (c Cipher) params() (oid asn1.ObjectIdentifier, keyLen, blockLen int) {
	switch c {
	case AES128CBC:
		return oidAES128CBC, 16, aes.BlockSize
	case AES192CBC:
		return oidAES192CBC, 24, aes.BlockSize
	case AES256CBC:
		return oidAES256CBC, 32, aes.BlockSize
	case DES3CBC:
		return oidDESEDE3, 24, des.BlockSize
	case DESCBC:
		return oidDESCBC, 8, des.BlockSize
	}
	return nil, 0, 0
}

func (c Cipher) block(key []byte) (cipher.Block, error) {
	switch c {
	case AES128CBC, AES192CBC, AES256CBC:
		return aes.NewCipher(key)
	case DES3CBC:
		return des.NewTripleDESCipher(key)
	case DESCBC:
		return des.NewCipher(key)
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, c)
}

func cipherFromOID(oid asn1.ObjectIdentifier) (Cipher, error) {
	for _, c := range []Cipher{AES128CBC, AES192CBC, AES256CBC, DES3CBC, DESCBC} {
		if o, _, _ := c.params(); o.Equal(oid) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: content cipher %v", ErrUnsupportedAlgorithm, oid)
}

// EnvelopedData is a parsed CMS EnvelopedData with key transport recipients.
type EnvelopedData struct {
	Recipients []Recipient
	// ContentType is the type of the encrypted content.
	ContentType asn1.ObjectIdentifier
	// Cipher is the content cipher; zero when its identifier is unknown
	// (Decrypt then fails with ErrUnsupportedAlgorithm).
	Cipher           Cipher
	cipherOID        asn1.ObjectIdentifier
	iv               []byte
	EncryptedContent []byte
}

// Recipient is a KeyTransRecipientInfo. Other recipient kinds are skipped
// when parsing.
type Recipient struct {
	IssuerAndSerial *IssuerAndSerial
	SubjectKeyID    []byte
	KeyAlgorithm    asn1.ObjectIdentifier
	keyParams       asn1.RawValue
	EncryptedKey    []byte
}

// UsesOAEP reports whether the recipient's key was transported with
// RSAES-OAEP (rather than PKCS #1 v1.5).
func (r Recipient) UsesOAEP() bool { return r.KeyAlgorithm.Equal(oidRSAESOAEP) }

type rawEnvelopedData struct {
	Version              int
	OriginatorInfo       asn1.RawValue `asn1:"optional,tag:0"`
	RecipientInfos       asn1.RawValue
	EncryptedContentInfo rawEncryptedContentInfo
	UnprotectedAttrs     asn1.RawValue `asn1:"optional,tag:1"`
}

type rawEncryptedContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Algorithm   algorithmIdentifier
	Content     asn1.RawValue `asn1:"optional,tag:0"`
}

type rawKTRI struct {
	Version      int
	RID          asn1.RawValue
	KeyAlgorithm algorithmIdentifier
	EncryptedKey []byte
}

// ParseEnvelopedData parses a ContentInfo holding an EnvelopedData.
func ParseEnvelopedData(der []byte) (*EnvelopedData, error) {
	inner, err := unwrapContentInfo(der, OIDEnvelopedData)
	if err != nil {
		return nil, err
	}
	var r rawEnvelopedData
	if rest, err := asn1.Unmarshal(inner, &r); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("cms: enveloped data: malformed (%v)", err)
	}
	e := &EnvelopedData{
		ContentType: r.EncryptedContentInfo.ContentType,
		cipherOID:   r.EncryptedContentInfo.Algorithm.Algorithm,
	}
	if c, err := cipherFromOID(e.cipherOID); err == nil {
		e.Cipher = c
		var iv []byte
		if _, err := asn1.Unmarshal(r.EncryptedContentInfo.Algorithm.Parameters.FullBytes, &iv); err != nil {
			return nil, fmt.Errorf("cms: enveloped data: cipher IV: %v", err)
		}
		if _, _, bl := c.params(); len(iv) != bl {
			return nil, fmt.Errorf("cms: enveloped data: IV of %d bytes for %v", len(iv), c)
		}
		e.iv = iv
	}
	// [0] IMPLICIT OCTET STRING. Streaming (BER) encoders such as
	// `openssl cms -stream` send it constructed, as OCTET STRING segments;
	// ToDER cannot flatten it because its tag is context-specific.
	ec := r.EncryptedContentInfo.Content
	e.EncryptedContent = ec.Bytes
	if ec.IsCompound {
		var segs [][]byte
		for b := ec.Bytes; len(b) > 0; {
			var seg asn1.RawValue
			if b, err = asn1.Unmarshal(b, &seg); err != nil {
				return nil, fmt.Errorf("cms: enveloped data: encrypted content: %w", err)
			}
			segs = append(segs, seg.FullBytes)
		}
		if e.EncryptedContent, err = flattenString(asn1.TagOctetString, segs); err != nil {
			return nil, err
		}
	}
	if r.RecipientInfos.Tag != asn1.TagSet {
		return nil, errors.New("cms: recipient infos is not a SET")
	}
	if err := eachElement(r.RecipientInfos.Bytes, maxRecipients, func(el asn1.RawValue) error {
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			return nil // kari, kekri, pwri, ori: not key transport
		}
		var k rawKTRI
		if rest, err := asn1.Unmarshal(el.FullBytes, &k); err != nil || len(rest) != 0 {
			return fmt.Errorf("cms: recipient info: malformed (%v)", err)
		}
		rcp := Recipient{KeyAlgorithm: k.KeyAlgorithm.Algorithm, keyParams: k.KeyAlgorithm.Parameters, EncryptedKey: k.EncryptedKey}
		switch {
		case k.RID.Class == asn1.ClassUniversal && k.RID.Tag == asn1.TagSequence:
			is, err := ParseIssuerAndSerial(k.RID.FullBytes)
			if err != nil {
				return err
			}
			rcp.IssuerAndSerial = &is
		case k.RID.Class == asn1.ClassContextSpecific && k.RID.Tag == 0:
			rcp.SubjectKeyID = k.RID.Bytes
		default:
			return errors.New("cms: recipient info: unknown recipient identifier")
		}
		e.Recipients = append(e.Recipients, rcp)
		return nil
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// DecryptOptions tune Decrypt.
type DecryptOptions struct {
	// AllowDES accepts single-DES content. RFC 8894 forbids it; legacy
	// clients still send it.
	AllowDES bool
}

// Decrypt opens the envelope with the recipient that names cert, using key
// (whose public key must be RSA). RSA PKCS #1 v1.5 and RSAES-OAEP key
// transport are supported. It returns ErrNoRecipient, ErrUnsupportedAlgorithm
// or ErrDecrypt.
func (e *EnvelopedData) Decrypt(cert *x509.Certificate, key crypto.Decrypter, opts *DecryptOptions) ([]byte, error) {
	if e.Cipher == 0 {
		return nil, fmt.Errorf("%w: content cipher %v", ErrUnsupportedAlgorithm, e.cipherOID)
	}
	if e.Cipher == DESCBC && (opts == nil || !opts.AllowDES) {
		return nil, fmt.Errorf("%w: single DES is not allowed", ErrUnsupportedAlgorithm)
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%w: key transport needs an RSA key, have %T", ErrUnsupportedAlgorithm, key.Public())
	}
	var rcp *Recipient
	for i := range e.Recipients {
		r := &e.Recipients[i]
		if r.IssuerAndSerial != nil && bytes.Equal(r.IssuerAndSerial.RawIssuer, cert.RawIssuer) && r.IssuerAndSerial.Serial().Cmp(cert.SerialNumber) == 0 {
			rcp = r
			break
		}
		if r.SubjectKeyID != nil && len(cert.SubjectKeyId) > 0 && bytes.Equal(r.SubjectKeyID, cert.SubjectKeyId) {
			rcp = r
			break
		}
	}
	if rcp == nil {
		return nil, ErrNoRecipient
	}
	_, keyLen, blockLen := e.Cipher.params()
	var cek []byte
	switch {
	case rcp.KeyAlgorithm.Equal(oidRSAEncryption):
		// A random key on bad padding (SessionKeyLen) keeps the failure
		// indistinguishable from a wrong content key.
		k, err := key.Decrypt(rand.Reader, rcp.EncryptedKey, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen})
		if err != nil {
			return nil, ErrDecrypt
		}
		cek = k
	case rcp.KeyAlgorithm.Equal(oidRSAESOAEP):
		h, mgf, label, err := oaepParams(rcp.keyParams)
		if err != nil {
			return nil, err
		}
		k, err := key.Decrypt(rand.Reader, rcp.EncryptedKey, &rsa.OAEPOptions{Hash: h, MGFHash: mgf, Label: label})
		if err != nil {
			return nil, ErrDecrypt
		}
		cek = k
	default:
		return nil, fmt.Errorf("%w: key transport %v", ErrUnsupportedAlgorithm, rcp.KeyAlgorithm)
	}
	if len(cek) != keyLen {
		return nil, ErrDecrypt
	}
	ct := e.EncryptedContent
	if len(ct) == 0 || len(ct)%blockLen != 0 {
		return nil, ErrDecrypt
	}
	b, err := e.Cipher.block(cek)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, e.iv).CryptBlocks(pt, ct)
	return unpad(pt, blockLen)
}

// unpad removes PKCS #7 padding; it never indexes outside pt.
func unpad(pt []byte, blockLen int) ([]byte, error) {
	if len(pt) == 0 {
		return nil, ErrDecrypt
	}
	n := int(pt[len(pt)-1])
	if n == 0 || n > blockLen || n > len(pt) {
		return nil, ErrDecrypt
	}
	pad := bytes.Repeat([]byte{byte(n)}, n)
	if subtle.ConstantTimeCompare(pt[len(pt)-n:], pad) != 1 {
		return nil, ErrDecrypt
	}
	return pt[:len(pt)-n], nil
}

type rawOAEPParams struct {
	Hash    algorithmIdentifier `asn1:"explicit,optional,tag:0"`
	MGF     algorithmIdentifier `asn1:"explicit,optional,tag:1"`
	PSource algorithmIdentifier `asn1:"explicit,optional,tag:2"`
}

func oaepParams(params asn1.RawValue) (h, mgf crypto.Hash, label []byte, err error) {
	h, mgf = crypto.SHA1, crypto.SHA1
	if len(params.FullBytes) == 0 || (params.Tag == asn1.TagNull && params.Class == asn1.ClassUniversal) {
		return h, mgf, nil, nil
	}
	var p rawOAEPParams
	if _, err := asn1.Unmarshal(params.FullBytes, &p); err != nil {
		return 0, 0, nil, fmt.Errorf("%w: RSAES-OAEP parameters", ErrUnsupportedAlgorithm)
	}
	if len(p.Hash.Algorithm) > 0 {
		if h, err = HashFromOID(p.Hash.Algorithm); err != nil {
			return 0, 0, nil, err
		}
	}
	if len(p.MGF.Algorithm) > 0 {
		if !p.MGF.Algorithm.Equal(oidMGF1) {
			return 0, 0, nil, fmt.Errorf("%w: OAEP mask generation %v", ErrUnsupportedAlgorithm, p.MGF.Algorithm)
		}
		var mh algorithmIdentifier
		if _, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mh); err != nil {
			return 0, 0, nil, fmt.Errorf("%w: OAEP MGF1 hash", ErrUnsupportedAlgorithm)
		}
		if mgf, err = HashFromOID(mh.Algorithm); err != nil {
			return 0, 0, nil, err
		}
	}
	if len(p.PSource.Algorithm) > 0 {
		if !p.PSource.Algorithm.Equal(oidPSpecified) {
			return 0, 0, nil, fmt.Errorf("%w: OAEP label source", ErrUnsupportedAlgorithm)
		}
		if _, err := asn1.Unmarshal(p.PSource.Parameters.FullBytes, &label); err != nil {
			return 0, 0, nil, fmt.Errorf("%w: OAEP label", ErrUnsupportedAlgorithm)
		}
	}
	return h, mgf, label, nil
}

// KeyTransport is the RSA key transport scheme Encrypt uses.
type KeyTransport int

// Key transport schemes.
const (
	RSAPKCS1v15 KeyTransport = iota // rsaEncryption, what every SCEP client reads
	RSAOAEP                         // RSAES-OAEP with SHA-1 and MGF1-SHA-1 (the default parameters)
)

// Encrypt produces a DER ContentInfo holding an EnvelopedData of content for
// each recipient (which must have RSA public keys), identified by issuer and
// serial number as their certificates carry them. rnd nil means crypto/rand.
func Encrypt(rnd io.Reader, content []byte, c Cipher, kt KeyTransport, recipients []*Certificate) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	oid, keyLen, blockLen := c.params()
	if oid == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, c)
	}
	if len(recipients) == 0 {
		return nil, errors.New("cms: encrypt: no recipients")
	}
	key := make([]byte, keyLen)
	iv := make([]byte, blockLen)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	if c == DES3CBC || c == DESCBC {
		setDESParity(key)
	}
	b, err := c.block(key)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	n := blockLen - len(content)%blockLen
	pt := append(append(make([]byte, 0, len(content)+n), content...), bytes.Repeat([]byte{byte(n)}, n)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)

	var ris [][]byte
	for _, r := range recipients {
		pub, ok := r.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: recipient key %T is not RSA", ErrUnsupportedAlgorithm, r.PublicKey)
		}
		var ek []byte
		var alg []byte
		switch kt {
		case RSAOAEP:
			ek, err = rsa.EncryptOAEP(crypto.SHA1.New(), rnd, pub, key, nil)
			alg = mustMarshal(algorithmIdentifier{Algorithm: oidRSAESOAEP, Parameters: asn1.RawValue{FullBytes: []byte{0x30, 0x00}}})
		default:
			ek, err = rsa.EncryptPKCS1v15(rnd, pub, key)
			alg = mustMarshal(algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue})
		}
		if err != nil {
			return nil, fmt.Errorf("cms: encrypt: %w", err)
		}
		var ri []byte
		ri = append(ri, mustMarshal(0)...)
		ri = append(ri, IssuerAndSerialOf(r).Marshal()...)
		ri = append(ri, alg...)
		ri = appendTLV(ri, []byte{0x04}, ek)
		ris = append(ris, appendTLV(nil, []byte{0x30}, ri))
	}
	var eci []byte
	eci = append(eci, mustMarshal(OIDData)...)
	eci = append(eci, mustMarshal(algorithmIdentifier{Algorithm: oid, Parameters: asn1.RawValue{FullBytes: mustMarshal(iv)}})...)
	eci = appendTLV(eci, []byte{0x80}, ct)

	var body []byte
	body = append(body, mustMarshal(0)...)
	body = appendTLV(body, []byte{0x31}, bytes.Join(ris, nil))
	body = appendTLV(body, []byte{0x30}, eci)
	return wrapContentInfo(OIDEnvelopedData, appendTLV(nil, []byte{0x30}, body)), nil
}

// setDESParity sets odd parity on each key byte, as DES keys conventionally
// carry it (some decoders check).
func setDESParity(key []byte) {
	for i, b := range key {
		b &= 0xfe
		p := byte(0)
		for x := b; x != 0; x >>= 1 {
			p ^= x & 1
		}
		if p == 0 {
			b |= 1
		}
		key[i] = b
	}
}
