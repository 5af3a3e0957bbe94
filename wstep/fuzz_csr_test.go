package wstep

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// csrFuzzWindows adds the captured Windows request to the corpus when the
// vectors are available; fuzzing works without them.
func csrFuzzWindows(f *testing.F) []byte {
	if os.Getenv("MDMKIT_VECTORS") == "" {
		return nil
	}
	return csrWindows(f)
}

func FuzzParseCSR(f *testing.F) {
	k := newCSRTestKeys(f)
	seeds := [][]byte{
		csrCreate(f, k.rsa, nil),
		csrCreate(f, k.p256, &CSROptions{Hash: crypto.SHA384, Attributes: []CSRAttribute{csrExtRequest(oidCSRMSExtensionRequest, 2)}}),
		csrCreate(f, k.ed, &CSROptions{PlainSubject: true}),
		csrFromGo(f, k.rsa, x509.SHA256WithRSAPSS),
		csrFromGo(f, k.p384, x509.ECDSAWithSHA384),
		csrCraft(f, nil, &k.rsa.PublicKey, csrSubjectCN(0x1e, []byte{0, 'A', 0xd8, 0x3d}), csrManyAttributes(3), oidSigMD5WithRSA, 0),
		{0x30, 0x80, 0x00, 0x00},
		{},
	}
	if w := csrFuzzWindows(f); w != nil {
		seeds = append(seeds, w)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCSR(b)
		if err != nil {
			if c != nil || !strings.HasPrefix(err.Error(), "wstep: csr: ") {
				t.Fatalf("ParseCSR = %v, %v", c, err)
			}
			return
		}
		if !bytes.Equal(c.Raw, b) || c.PublicKey == nil || strings.HasSuffix(c.CommonName, "\x00") || strings.HasSuffix(c.DeviceID, "\x00") {
			t.Fatalf("inconsistent result %+v", c)
		}
		if len(c.Attributes) > maxCSRAttributes || len(c.Extensions) > maxCSRExtensions || len(c.Subject.Names) > maxCSRNames {
			t.Fatalf("limits exceeded: %d attributes, %d extensions, %d names", len(c.Attributes), len(c.Extensions), len(c.Subject.Names))
		}
		if err := c.CheckSignature(); err != nil && !strings.HasPrefix(err.Error(), "wstep: csr: ") {
			t.Fatalf("CheckSignature = %v", err)
		}
	})
}

func FuzzParseRenewal(f *testing.F) {
	k := newCSRTestKeys(f)
	cert := renewalIssue(f, k.p384, k.p256, 30)
	csr := csrCreate(f, k.rsa, nil)
	der, err := CreateRenewal(rand.Reader, csr, cert, k.p256)
	if err != nil {
		f.Fatal(err)
	}
	cmc, err := cms.Sign(&cms.SignParams{ContentType: oidCMCPKIData, Content: renewalPKIData(false, csr), Signer: cms.FromX509(cert), Key: k.p256, Certificates: [][]byte{cert.Raw}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{der, renewalToBER(f, der), cmc, renewalNoAttrs(f, cms.OIDData, csr, cert, k.p256), csr, {}} {
		f.Add(s)
	}
	if w := csrFuzzWindows(f); w != nil {
		if der, err := CreateRenewal(rand.Reader, w, cert, k.p256); err == nil {
			f.Add(der)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRenewal(b)
		if err != nil {
			if r != nil || !strings.HasPrefix(err.Error(), "wstep: renewal: ") {
				t.Fatalf("ParseRenewal = %v, %v", r, err)
			}
			return
		}
		if r.CSR == nil || r.Signer == nil || len(r.Certificates) == 0 {
			t.Fatalf("incomplete result %+v", r)
		}
		if err := r.CSR.CheckSignature(); err != nil {
			t.Fatalf("accepted a request whose signature fails: %v", err)
		}
	})
}
