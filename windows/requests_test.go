package windows_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// Request builders and setups of the bad-input cases, and the controls
// that show each unspoilt request succeeds.

// setContext replaces (or, with an empty value, removes) every
// AdditionalContext item named name.
func setContext(r *wstep.RSTRequest, name, value string) {
	var out wstep.Context
	found := false
	for _, it := range r.Context {
		if strings.EqualFold(it.Name, name) {
			if value != "" && !found {
				out = append(out, wstep.ContextItem{Name: it.Name, Value: value})
			}
			found = true
			continue
		}
		out = append(out, it)
	}
	if !found && value != "" {
		out = append(out, wstep.ContextItem{Name: name, Value: value})
	}
	r.Context = out
}

// enrollWith is a case request: a new enrollment spoilt by mod.
func enrollWith(mod func(t *testing.T, h *harness, r *wstep.RSTRequest)) func(*testing.T, *harness, *windowstest.Device) call {
	return func(t *testing.T, h *harness, _ *windowstest.Device) call {
		r := h.enrollRequest("0123456789ABCDEF0123456789ABCDEF", poolKey(t))
		if mod != nil {
			mod(t, h, r)
		}
		return call{url: h.EnrollURL, body: encodeRST(t, r)}
	}
}

// policiesWith is a case request: GetPolicies with the security header sec.
func policiesWith(sec *wstep.Security) func(*testing.T, *harness, *windowstest.Device) call {
	return func(t *testing.T, h *harness, _ *windowstest.Device) call {
		return call{url: h.PolicyURL, body: h.policiesBody(sec)}
	}
}

// renewal is a case request: a renewal of deviceID whose PKCS#7 wraps a
// new request and is signed with cert and key, sent over TLS presenting
// tlsCert (with tlsKey) when it is set.
func renewal(t *testing.T, h *harness, deviceID string, cert *x509.Certificate, key crypto.Signer, tlsCert *x509.Certificate, tlsKey crypto.Signer) call {
	t.Helper()
	csr, err := wstep.CreateCSR(rand.Reader, poolKey(t), deviceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := wstep.CreateRenewal(rand.Reader, csr, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c := call{url: h.EnrollURL, body: encodeRST(t, h.renewRequest(wstep.ValueTypePKCS7, p7, deviceID))}
	if tlsCert != nil {
		c.client = h.clientWithCert(tlsCert, tlsKey)
	}
	return c
}

func enrolled(_ *testing.T, h *harness) *windowstest.Device { return h.enroll(testUser) }

// failingStore refuses to store.
type failingStore struct {
	windows.EnrollmentStore
}

func (failingStore) StoreWindowsEnrollment(context.Context, *windows.Enrollment) error {
	return errors.New("disk-full-q3: no space left")
}

// fixedUser is a setup accepting the test password for user only.
func fixedUser(user string) tweak {
	return func(_ *harness, o *windows.Options) { o.OnPremise = windows.StaticUser(user, testPassword) }
}

// certAuth is a Certificate-policy setup trusting the harness's own CA,
// and certSecurity a signed header for a certificate of it.
func certAuth(h *harness, o *windows.Options) {
	pool := x509.NewCertPool()
	pool.AddCert(h.caCert)
	o.Certificate = windows.PoolAuthenticator(pool)
}

func certSecurity(t *testing.T, h *harness, created, expires time.Time) (*wstep.Security, time.Time) {
	t.Helper()
	key := poolKey(t)
	cert := issue(t, h.caCert, h.caKey, "agent-1", key, h.clock.Now().Add(-time.Hour))
	raw, err := wstep.SignCertificateAuth(cert, key, created, expires)
	if err != nil {
		t.Fatal(err)
	}
	return &wstep.Security{Raw: raw}, created
}

// TestBadInputControls sends the requests the bad-input cases start from,
// unspoilt, and expects them to succeed: each case then fails for its own
// reason only.
func TestBadInputControls(t *testing.T) {
	for _, c := range []struct {
		name    string
		setup   tweak
		prepare func(t *testing.T, h *harness) *windowstest.Device
		request func(t *testing.T, h *harness, dev *windowstest.Device) call
	}{
		{"discover", nil, nil, func(_ *testing.T, h *harness, _ *windowstest.Device) call {
			return call{url: h.DiscoveryURL, body: h.discoverBody(nil)}
		}},
		{"policies", nil, nil, policiesWith(usernameSecurity(testUser, testPassword))},
		{"fixed user", fixedUser("alice@example.com"), nil, policiesWith(usernameSecurity("Alice@Example.com", testPassword))},
		{"enroll", nil, nil, enrollWith(nil)},
		{"certificate auth", certAuth, nil, enrollWith(func(t *testing.T, h *harness, r *wstep.RSTRequest) {
			now := h.clock.Now()
			r.Header.Security, _ = certSecurity(t, h, now, now.Add(5*time.Minute))
		})},
		{"renew", nil, enrolled, func(t *testing.T, h *harness, dev *windowstest.Device) call {
			inst := dev.Installed
			return renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, inst.Certificate, inst.Key)
		}},
		{"renew without TLS", nil, enrolled, func(t *testing.T, h *harness, dev *windowstest.Device) call {
			inst := dev.Installed
			return renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, nil, nil)
		}},
		{"renew PKCS#10 over TLS", nil, enrolled, func(t *testing.T, h *harness, dev *windowstest.Device) call {
			csr, err := wstep.CreateCSR(rand.Reader, poolKey(t), dev.DeviceID, nil)
			if err != nil {
				t.Fatal(err)
			}
			return call{url: h.EnrollURL, body: encodeRST(t, h.renewRequest(wstep.ValueTypePKCS10, csr, dev.DeviceID)),
				client: h.clientWithCert(dev.Installed.Certificate, dev.Installed.Key)}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.setup)
			var dev *windowstest.Device
			if c.prepare != nil {
				dev = c.prepare(t, h)
			}
			cl := c.request(t, h, dev)
			status, _, body := h.post(cl.client, cl.url, "", cl.body)
			if status != http.StatusOK || wstep.IsFault(body) {
				t.Fatalf("HTTP %d: %s", status, body)
			}
		})
	}
}
