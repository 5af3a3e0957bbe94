package appletest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/scep"
)

// fakeServer answers command reports with a scripted function and records
// what it received, checking every Mdm-Signature.
type fakeServer struct {
	mu      sync.Mutex
	reports []*apple.Report
	sigErrs []error
	answer  func(n int, rep *apple.Report) []byte
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, _, sigErr := apple.VerifyMdmSignature(r.Header.Get("Mdm-Signature"), body)
	rep, err := apple.DecodeReport(body)
	if err != nil || r.Method != http.MethodPut || r.Header.Get("Content-Type") == apple.CheckinContentType {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reports = append(f.reports, rep)
	if sigErr != nil {
		f.sigErrs = append(f.sigErrs, sigErr)
	}
	n := len(f.reports)
	f.mu.Unlock()
	_, _ = w.Write(f.answer(n, rep))
}

// fakeDevice is a device with a self-signed identity, pointed at f.
func fakeDevice(t *testing.T, f *fakeServer, opts *appletest.Options) *appletest.Device {
	t.Helper()
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	o := appletest.Options{}
	if opts != nil {
		o = *opts
	}
	o.ServerURL, o.HTTPClient = hs.URL, hs.Client()
	d, err := appletest.New(&o)
	must(t, err)
	key := testKey(t, 7)
	cert, err := scep.SelfSignedSigner(key, pkix.Name{CommonName: "fake"}, time.Now(), nil)
	must(t, err)
	d.UseIdentity(cert, key)
	return d
}

const oneCommand = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CommandUUID</key><string>LOOP</string>
<key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict>
</dict></plist>`

func TestPollBounded(t *testing.T) {
	f := &fakeServer{answer: func(int, *apple.Report) []byte { return []byte(oneCommand) }}
	d := fakeDevice(t, f, &appletest.Options{MaxCommands: 5})
	ran, err := d.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than 5") {
		t.Fatalf("Poll of a server that never ends: %v", err)
	}
	if len(ran) != 5 {
		t.Errorf("ran %d commands before stopping, want 5", len(ran))
	}
	if len(f.sigErrs) != 0 || len(f.reports) != 6 {
		t.Errorf("server got %d reports, %d bad signatures %v", len(f.reports), len(f.sigErrs), f.sigErrs)
	}
}

func TestPollMalformedCommands(t *testing.T) {
	answers := []string{
		// Command is not a dictionary.
		`<plist version="1.0"><dict><key>CommandUUID</key><string>A</string><key>Command</key><string>x</string></dict></plist>`,
		// No RequestType.
		`<plist version="1.0"><dict><key>CommandUUID</key><string>B</string><key>Command</key><dict/></dict></plist>`,
		// Not a property list at all: the session ends with an error.
		`hello`,
	}
	f := &fakeServer{answer: func(n int, _ *apple.Report) []byte { return []byte(answers[n-1]) }}
	d := fakeDevice(t, f, &appletest.Options{NoSignMessage: true})
	ran, err := d.Poll(context.Background())
	if err == nil {
		t.Fatal("Poll accepted a body that is not a command")
	}
	if len(ran) != 2 || ran[0].Status != apple.StatusCommandFormatError || ran[1].Status != apple.StatusCommandFormatError {
		t.Fatalf("ran %s, want two CommandFormatError", summary(ran))
	}
	if len(f.reports) != 3 || f.reports[1].CommandUUID != "A" || f.reports[2].CommandUUID != "B" ||
		f.reports[2].Status != apple.StatusCommandFormatError {
		t.Errorf("server got %d reports", len(f.reports))
	}
	// NoSignMessage: no header, so every verification failed.
	if len(f.sigErrs) != 3 {
		t.Errorf("%d reports without a signature, want 3", len(f.sigErrs))
	}
}

func TestRefusedReport(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusUnauthorized)
	}))
	defer hs.Close()
	d, err := appletest.New(&appletest.Options{ServerURL: hs.URL, HTTPClient: hs.Client()})
	must(t, err)
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "identity") {
		t.Errorf("Poll without an identity: %v", err)
	}
	key := testKey(t, 7)
	cert, err := scep.SelfSignedSigner(key, pkix.Name{CommonName: "x"}, time.Now(), nil)
	must(t, err)
	d.UseIdentity(cert, key)
	var he *appletest.HTTPError
	if _, err := d.Poll(context.Background()); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("Poll: %v, want HTTP 401", err)
	}
	if c, k := d.Identity(); c != cert || k != key {
		t.Error("Identity does not return what UseIdentity set")
	}
}

func TestOptions(t *testing.T) {
	d, err := appletest.New(nil)
	must(t, err)
	if len(d.UDID()) != 36 || strings.ToUpper(d.UDID()) != d.UDID() || len(d.SerialNumber()) != 10 {
		t.Errorf("defaults: UDID %q serial %q", d.UDID(), d.SerialNumber())
	}
	if len(d.PushToken()) != 32 || d.PushMagic() == "" || d.Topic() != appletest.DefaultTopic {
		t.Errorf("defaults: token %x magic %q topic %q", d.PushToken(), d.PushMagic(), d.Topic())
	}
	e, err := appletest.New(&appletest.Options{UDID: "U", PushToken: []byte{1}, PushMagic: "M", Topic: "T"})
	must(t, err)
	if e.UDID() != "U" || !bytes.Equal(e.PushToken(), []byte{1}) || e.PushMagic() != "M" || e.Topic() != "T" {
		t.Error("options not used")
	}
	for name, o := range map[string]*appletest.Options{
		"small key size":          {KeySize: 512},
		"non-RSA key":             {Key: ed25519Key(t)},
		"custom transport + mTLS": {UseTLSIdentity: true, HTTPClient: &http.Client{Transport: roundTripper{}}},
	} {
		if _, err := appletest.New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func ed25519Key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	must(t, err)
	return k
}

type roundTripper struct{}

func (roundTripper) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("not used")
}
