package appletest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mdmkit/mdmkit/scep"
)

// EnrollSCEP gets the device an identity certificate from the SCEP server
// at scepURL, as the SCEP payload of an enrollment profile does: GetCACert,
// then a PKCSReq whose CSR carries challenge (empty for none) and subject
// (a zero subject means CN=<UDID>). The issued certificate and its key
// become the device's identity. A server that answers PENDING fails the
// enrollment with an error wrapping scep.ErrPending.
func (d *Device) EnrollSCEP(ctx context.Context, scepURL, challenge string, subject pkix.Name) error {
	return d.enrollSCEP(ctx, &scepContent{URL: scepURL, Challenge: challenge}, subject)
}

func (d *Device) enrollSCEP(ctx context.Context, sc *scepContent, subject pkix.Name) error {
	if len(subject.ToRDNSequence()) == 0 {
		subject = pkix.Name{CommonName: d.udid}
	}
	key := d.optKey
	if key == nil {
		bits := d.keySize
		if sc.Keysize != 0 {
			bits = sc.Keysize
		}
		if bits < 1024 || bits > 8192 {
			return fmt.Errorf("appletest: SCEP Keysize %d outside 1024..8192", bits)
		}
		k, err := rsa.GenerateKey(d.rand, bits)
		if err != nil {
			return fmt.Errorf("appletest: generating the identity key: %w", err)
		}
		key = k
	}
	client, err := scep.NewClient(sc.URL, &scep.ClientOptions{
		HTTPClient: d.plain, CAIdentifier: sc.Name, Clock: d.clock, Rand: d.rand,
	})
	if err != nil {
		return fmt.Errorf("appletest: %w", err)
	}
	cas, err := client.GetCACert(ctx)
	if err != nil {
		return fmt.Errorf("appletest: SCEP GetCACert: %w", err)
	}
	if len(sc.CAFingerprint) > 0 && !fingerprintMatches(sc.CAFingerprint, cas) {
		return errors.New("appletest: no CA certificate of the SCEP server matches the payload's CAFingerprint")
	}
	csr, err := scep.NewCSR(d.rand, key, subject, sc.Challenge, nil)
	if err != nil {
		return fmt.Errorf("appletest: %w", err)
	}
	resp, err := client.Enroll(ctx, csr, key)
	if err != nil {
		return fmt.Errorf("appletest: SCEP enrollment: %w", err)
	}
	if resp.Certificate == nil {
		return errors.New("appletest: SCEP enrollment returned no certificate")
	}
	d.UseIdentity(resp.Certificate, key)
	return nil
}

// fingerprintMatches checks a SCEP payload's CAFingerprint (MD5, SHA-1 or
// SHA-256 of a CA certificate) against the certificates GetCACert gave.
func fingerprintMatches(fp []byte, cas []*x509.Certificate) bool {
	for _, c := range cas {
		var sum []byte
		switch len(fp) {
		case md5.Size:
			s := md5.Sum(c.Raw)
			sum = s[:]
		case sha1.Size:
			s := sha1.Sum(c.Raw)
			sum = s[:]
		case sha256.Size:
			s := sha256.Sum256(c.Raw)
			sum = s[:]
		}
		if sum != nil && bytes.Equal(sum, fp) {
			return true
		}
	}
	return false
}

// InstallProfile installs a configuration profile (an XML or binary
// property list, or one signed with CMS; a signature must verify with the
// certificate it carries) as a user does on the device channel.
//
// An enrollment profile, one with a com.apple.mdm payload, enrolls the
// device: the SCEP payload its IdentityCertificateUUID names gets the
// identity certificate (URL, Name, Challenge, Subject, Keysize,
// CAFingerprint), the MDM payload's ServerURL, CheckInURL, Topic and
// SignMessage replace the device's, and the device sends Authenticate and
// TokenUpdate. If any step fails, the profile is not installed and the
// error says why (an *HTTPError for a refused check-in). A device enrolled
// through one enrollment profile refuses another with a different
// PayloadIdentifier; one with the same identifier enrolls again.
//
// Any other profile is only recorded, as installed by the user: it appears
// in ProfileList results.
func (d *Device) InstallProfile(ctx context.Context, data []byte) error {
	p, err := parseProfile(data)
	if err != nil {
		return err
	}
	d.mu.Lock()
	erased := d.erased
	if !erased && p.mdm == nil {
		d.dev.putProfile(p)
	}
	var other string
	for _, have := range d.dev.profiles {
		if have.mdm != nil && have.identifier != p.identifier {
			other = have.identifier
		}
	}
	d.mu.Unlock()
	switch {
	case erased:
		return ErrErased
	case p.mdm == nil:
		return nil
	case other != "":
		return fmt.Errorf("appletest: already enrolled through profile %q", other)
	}
	if t := p.scep.KeyType; t != "" && t != "RSA" {
		return fmt.Errorf("appletest: SCEP Key Type %q, only RSA is supported", t)
	}
	subject, err := subjectName(p.scep.Subject)
	if err != nil {
		return err
	}
	if err := d.enrollSCEP(ctx, p.scep, subject); err != nil {
		return err
	}

	d.mu.Lock()
	prevServer, prevCheckIn, prevTopic, prevSignOff := d.serverURL, d.checkInURL, d.topic, d.signOff
	d.serverURL, d.checkInURL, d.topic = p.mdm.ServerURL, p.mdm.CheckInURL, p.mdm.Topic
	if d.checkInURL == "" {
		d.checkInURL = d.serverURL
	}
	d.signOff = !p.mdm.SignMessage
	d.mu.Unlock()

	err = d.Authenticate(ctx)
	if err == nil {
		err = d.TokenUpdate(ctx)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.serverURL, d.checkInURL, d.topic, d.signOff = prevServer, prevCheckIn, prevTopic, prevSignOff
		return fmt.Errorf("appletest: enrollment: %w", err)
	}
	d.dev.putProfile(p)
	return nil
}

// subjectAttributes are the attribute types a SCEP payload's Subject may
// name besides a dotted OID.
var subjectAttributes = map[string]asn1.ObjectIdentifier{
	"C":  {2, 5, 4, 6},
	"L":  {2, 5, 4, 7},
	"ST": {2, 5, 4, 8},
	"O":  {2, 5, 4, 10},
	"OU": {2, 5, 4, 11},
	"CN": {2, 5, 4, 3},
}

// subjectName converts a SCEP payload Subject, a list of relative
// distinguished names each holding [type, value] pairs, keeping its order.
func subjectName(rdns [][][]string) (pkix.Name, error) {
	var n pkix.Name
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if len(atv) != 2 {
				return n, fmt.Errorf("appletest: SCEP Subject entry %q is not a [type, value] pair", atv)
			}
			oid, ok := subjectAttributes[strings.ToUpper(atv[0])]
			if !ok {
				var err error
				if oid, err = parseOID(atv[0]); err != nil {
					return n, err
				}
			}
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: atv[1]})
		}
	}
	return n, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("appletest: SCEP Subject type %q is neither C, L, ST, O, OU, CN nor an OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("appletest: SCEP Subject type %q is neither C, L, ST, O, OU, CN nor an OID", s)
		}
		oid[i] = v
	}
	return oid, nil
}
