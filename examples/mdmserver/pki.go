package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files in the data directory. Users may put their own RSA CA in
// ca.pem and ca-key.pem before the first start.
const (
	caCertFile    = "ca.pem"
	caKeyFile     = "ca-key.pem"
	tlsCertFile   = "tls.pem" // server certificate, then the CA
	tlsKeyFile    = "tls-key.pem"
	challengeFile = "scep-challenge.txt"
	// The enrollment profile's signer, then the CA.
	profileSignerFile    = "profile-signer.pem"
	profileSignerKeyFile = "profile-signer-key.pem"
	apiKeyFile           = "api-key.txt"
	topicFile            = "apns-topic.txt"
)

const (
	caCommonName = "mdmkit example CA"
	// SCEP clients encrypt their requests to the CA with RSA key
	// transport, so the CA key must be RSA.
	caKeyBits = 3072
	caYears   = 10

	// Apple devices refuse TLS server certificates valid for more than
	// 825 days, even from a private CA.
	tlsValidity = 365 * 24 * time.Hour
	// A TLS certificate closer than this to its expiry is replaced at
	// start, so a server restarted now and then never serves an expired
	// one.
	tlsRenewBefore = 30 * 24 * time.Hour

	profileSignerName     = "mdmkit example profile signer"
	profileSignerValidity = 2 * 365 * 24 * time.Hour
)

// prepareDataDir creates dir with mode 0700 when it does not exist. It
// returns a warning, for the log, when an existing dir is open to others.
func prepareDataDir(dir string) (warning string, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create data directory: %w", err)
		}
		// MkdirAll applies the umask; the directory holds private keys.
		return "", os.Chmod(dir, 0o700)
	case err != nil:
		return "", fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return "", fmt.Errorf("data directory %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Sprintf("data directory %s has mode %v; it holds private keys, consider chmod 700", dir, fi.Mode().Perm()), nil
	}
	return "", nil
}

// loadOrCreateCA returns the CA stored in dir, or creates and stores one
// when neither of its files exists.
func loadOrCreateCA(dir string, now time.Time) (cert *x509.Certificate, key *rsa.PrivateKey, created bool, err error) {
	certPEM, keyPEM, found, err := readPair(dir, caCertFile, caKeyFile)
	if err != nil {
		return nil, nil, false, err
	}
	if found {
		cert, key, err = parseCA(certPEM, keyPEM, now)
		if err != nil {
			return nil, nil, false, fmt.Errorf("CA in %s: %w", dir, err)
		}
		return cert, key, false, nil
	}

	key, err = rsa.GenerateKey(rand.Reader, caKeyBits)
	if err != nil {
		return nil, nil, false, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: caCommonName},
		NotBefore:    now.Add(-time.Hour), // tolerate clients whose clock is a little behind
		NotAfter:     now.AddDate(caYears, 0, 0),
		// keyEncipherment and digitalSignature because the CA is also the
		// SCEP RA: clients encrypt to it and it signs the replies.
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("create CA certificate: %w", err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, false, err
	}
	// The key goes first: a key without its certificate is refused at the
	// next start, never silently replaced.
	if err := writeKey(filepath.Join(dir, caKeyFile), key); err != nil {
		return nil, nil, false, err
	}
	if err := writeFileAtomic(filepath.Join(dir, caCertFile), pemCert(cert.Raw), 0o644); err != nil {
		return nil, nil, false, err
	}
	return cert, key, true, nil
}

func parseCA(certPEM, keyPEM []byte, now time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", caCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", caCertFile, err)
	}
	signer, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", caKeyFile, err)
	}
	key, ok := signer.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: the CA key must be RSA (SCEP clients encrypt to it)", caKeyFile)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not match %s", caKeyFile, caCertFile)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%s is not a CA certificate", caCertFile)
	}
	if now.After(cert.NotAfter) {
		// Devices trust this CA; replacing it silently would strand them.
		return nil, nil, fmt.Errorf("the CA expired on %s; move %s and %s aside to create a new one", cert.NotAfter.Format(time.DateOnly), caCertFile, caKeyFile)
	}
	return cert, key, nil
}

// loadOrCreateTLS returns the TLS server certificate stored in dir, or
// issues and stores a new one from the CA when the stored one is missing,
// unreadable, not issued by this CA, does not cover every name in hosts,
// or is near its expiry. The chain served is the certificate then the CA.
func loadOrCreateTLS(dir string, ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time) (cert tls.Certificate, issued bool, err error) {
	usable := func(leaf *x509.Certificate) bool { return tlsUsable(leaf, ca, hosts, now) }
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		NotAfter:    now.Add(tlsValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	leaf, key, issued, err := loadOrIssueLeaf(dir, tlsCertFile, tlsKeyFile, ca, caKey, tmpl, usable, now)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.Raw}, PrivateKey: key, Leaf: leaf}, issued, nil
}

// loadOrCreateProfileSigner returns the certificate and key that sign the
// enrollment profile, issued by the CA (so a device that trusts the CA
// shows the profile as verified) and kept apart from the CA key, which
// then only signs certificates and SCEP replies. It is reissued on the
// same terms as the TLS certificate.
func loadOrCreateProfileSigner(dir string, ca *x509.Certificate, caKey crypto.Signer, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	usable := func(leaf *x509.Certificate) bool {
		return leafUsable(leaf, ca, now) && leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0
	}
	// No extended key usage: a signer without one may sign anything, and
	// CMS verifiers (openssl cms -verify among them) accept it as is.
	tmpl := &x509.Certificate{
		Subject:  pkix.Name{CommonName: profileSignerName, Organization: []string{"mdmkit"}},
		NotAfter: now.Add(profileSignerValidity),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leaf, key, issued, err := loadOrIssueLeaf(dir, profileSignerFile, profileSignerKeyFile, ca, caKey, tmpl, usable, now)
	if err != nil {
		return nil, nil, false, fmt.Errorf("profile-signing certificate: %w", err)
	}
	return leaf, key, issued, nil
}

// loadOrIssueLeaf returns the certificate in certName (its first PEM
// block; a chain may follow) and its key in keyName when both read and
// usable says yes; otherwise it issues a new one from tmpl (subject, names,
// usages and NotAfter, capped at the CA's) with a new ECDSA P-256 key and
// stores it, followed by the CA, in place of the old one. Nothing depends
// on a leaf's old key, so a missing or broken file is repaired rather
// than refused.
func loadOrIssueLeaf(dir, certName, keyName string, ca *x509.Certificate, caKey crypto.Signer, tmpl *x509.Certificate, usable func(*x509.Certificate) bool, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	certPEM, keyPEM, found, err := readPair(dir, certName, keyName)
	if err == nil && found {
		if c, err := tls.X509KeyPair(certPEM, keyPEM); err == nil {
			// Leaf is parsed here: X509KeyPair fills it in only for
			// modules that declare go 1.23 or later.
			leaf, err := x509.ParseCertificate(c.Certificate[0])
			signer, ok := c.PrivateKey.(crypto.Signer)
			if err == nil && ok && usable(leaf) {
				return leaf, signer, false, nil
			}
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, fmt.Errorf("generate key: %w", err)
	}
	t := *tmpl
	if t.SerialNumber, err = randomSerial(); err != nil {
		return nil, nil, false, err
	}
	t.NotBefore = now.Add(-time.Hour) // tolerate clients whose clock is a little behind
	if t.NotAfter.After(ca.NotAfter) {
		t.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, false, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, err
	}
	if err := writeKey(filepath.Join(dir, keyName), key); err != nil {
		return nil, nil, false, err
	}
	chain := append(pemCert(leaf.Raw), pemCert(ca.Raw)...)
	if err := writeFileAtomic(filepath.Join(dir, certName), chain, 0o644); err != nil {
		return nil, nil, false, err
	}
	return leaf, key, true, nil
}

// leafUsable reports whether leaf was issued by ca and is valid from now
// until at least tlsRenewBefore from now.
func leafUsable(leaf, ca *x509.Certificate, now time.Time) bool {
	if leaf == nil || now.Before(leaf.NotBefore) || now.Add(tlsRenewBefore).After(leaf.NotAfter) {
		return false
	}
	return bytes.Equal(leaf.RawIssuer, ca.RawSubject) && leaf.CheckSignatureFrom(ca) == nil
}

func tlsUsable(leaf *x509.Certificate, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if !leafUsable(leaf, ca, now) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// loadOrCreateChallenge returns the SCEP challenge stored in dir, or
// generates and stores a random one. The file may be edited by hand; its
// content, without surrounding white space, is the challenge.
func loadOrCreateChallenge(dir string) (challenge string, created bool, err error) {
	// 128 random bits as 32 hex digits: a PrintableString, so every SCEP
	// client can carry it.
	return loadOrCreateText(filepath.Join(dir, challengeFile), 0o600, func() (string, error) { return randomHex(16) })
}

// loadOrCreateText returns the content of path without surrounding white
// space, or, when path does not exist, a value from generate, stored there
// with mode perm. An empty file is an error rather than a reason to
// generate: the operator may have meant something by it.
func loadOrCreateText(path string, perm os.FileMode, generate func() (string, error)) (value string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		value = strings.TrimSpace(string(b))
		if value == "" {
			return "", false, fmt.Errorf("%s is empty; delete it to generate a new value", path)
		}
		return value, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if value, err = generate(); err != nil {
		return "", false, err
	}
	if err := writeFileAtomic(path, []byte(value+"\n"), perm); err != nil {
		return "", false, err
	}
	return value, true, nil
}

// randomHex returns n random bytes as 2n lower-case hex digits.
func randomHex(n int) (string, error) {
	r := make([]byte, n)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	return hex.EncodeToString(r), nil
}

// readPair reads a certificate file and its key file. found is false when
// neither exists; only one of them existing is an error, so that a key is
// never overwritten by accident.
func readPair(dir, certName, keyName string) (certPEM, keyPEM []byte, found bool, err error) {
	certPEM, certErr := os.ReadFile(filepath.Join(dir, certName))
	keyPEM, keyErr := os.ReadFile(filepath.Join(dir, keyName))
	certMissing, keyMissing := errors.Is(certErr, fs.ErrNotExist), errors.Is(keyErr, fs.ErrNotExist)
	switch {
	case certMissing && keyMissing:
		return nil, nil, false, nil
	case certErr != nil && !certMissing:
		return nil, nil, false, certErr
	case keyErr != nil && !keyMissing:
		return nil, nil, false, keyErr
	case certMissing:
		return nil, nil, false, fmt.Errorf("%s has %s but not %s", dir, keyName, certName)
	case keyMissing:
		return nil, nil, false, fmt.Errorf("%s has %s but not %s", dir, certName, keyName)
	}
	return certPEM, keyPEM, true, nil
}

// parseKey reads a PEM private key: PKCS #8, or PKCS #1 and SEC 1 as
// written by older tools.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return signer, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// writeFileAtomic writes data to a temporary file in the same directory
// and renames it over path, so a crash never leaves half a key behind.
// The temporary file is created with mode 0600, so a key is never readable
// by others, not even briefly.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// randomSerial returns a positive random 128-bit serial number.
func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil // never zero
}
