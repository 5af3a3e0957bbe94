package windows

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/wstep"
)

func TestStaticUser(t *testing.T) {
	ctx := context.Background()
	req := &AuthRequest{Op: OpEnroll}
	for _, c := range []struct {
		name               string
		username, password string // configured
		user, pass         string // sent
		wantID             string // "" means refused
	}{
		{"exact", "alice@example.com", "s3cret", "alice@example.com", "s3cret", "alice@example.com"},
		{"user name case", "alice@example.com", "s3cret", "ALICE@Example.COM", "s3cret", "alice@example.com"},
		{"configured name case", "Alice@Example.com", "s3cret", "alice@example.com", "s3cret", "alice@example.com"},
		{"password case", "alice@example.com", "s3cret", "alice@example.com", "S3cret", ""},
		{"password prefix", "alice@example.com", "s3cret", "alice@example.com", "s3cre", ""},
		{"password longer", "alice@example.com", "s3cret", "alice@example.com", "s3cret ", ""},
		{"other user", "alice@example.com", "s3cret", "bob@example.com", "s3cret", ""},
		{"user name prefix", "alice@example.com", "s3cret", "alice@example.co", "s3cret", ""},
		{"empty user name sent", "alice@example.com", "s3cret", "", "s3cret", ""},
		{"any user", "", "s3cret", "Bob@Example.com", "s3cret", "bob@example.com"},
		{"any user, empty name sent", "", "s3cret", "", "s3cret", ""},
		{"any user, wrong password", "", "s3cret", "bob@example.com", "nope", ""},
		{"empty password configured", "alice@example.com", "", "alice@example.com", "", ""},
		{"empty password configured, any user", "", "", "bob", "", ""},
		// Only ASCII letters fold: the Kelvin sign is not a k here.
		{"no Unicode folding", "kate", "s3cret", "\u212Aate", "s3cret", ""},
		{"non-ASCII exact", "zoë", "s3cret", "zoë", "s3cret", "zoë"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := StaticUser(c.username, c.password).AuthenticateUser(ctx, c.user, c.pass, req)
			if c.wantID == "" {
				if !errors.Is(err, ErrUnauthenticated) || id != nil {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil || id == nil || id.UserID != c.wantID {
				t.Fatalf("got %+v, %v; want UserID %q", id, err, c.wantID)
			}
		})
	}
}

func TestStaticToken(t *testing.T) {
	ctx := context.Background()
	token := []byte("tok-123")
	auth := StaticToken(token, "agent")
	token[0] = 'X' // the authenticator keeps its own copy
	for _, c := range []struct {
		name  string
		auth  TokenAuthenticator
		typ   string
		token []byte
		ok    bool
	}{
		{"good", auth, wstep.ValueTypeUserToken, []byte("tok-123"), true},
		{"caller's slice changed after construction", auth, wstep.ValueTypeUserToken, []byte("Xok-123"), false},
		{"JWT value type", auth, wstep.ValueTypeJWT, []byte("tok-123"), false},
		{"empty value type", auth, "", []byte("tok-123"), false},
		{"prefix", auth, wstep.ValueTypeUserToken, []byte("tok-12"), false},
		{"longer", auth, wstep.ValueTypeUserToken, []byte("tok-1234"), false},
		{"nil", auth, wstep.ValueTypeUserToken, nil, false},
		{"empty token configured", StaticToken(nil, "agent"), wstep.ValueTypeUserToken, []byte{}, false},
		{"empty token configured, nil sent", StaticToken([]byte{}, "agent"), wstep.ValueTypeUserToken, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.auth.AuthenticateToken(ctx, c.typ, c.token, &AuthRequest{Op: OpPolicies})
			if !c.ok {
				if !errors.Is(err, ErrUnauthenticated) || id != nil {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil || id == nil || id.UserID != "agent" {
				t.Fatalf("got %+v, %v", id, err)
			}
		})
	}
}

// testCert makes a certificate for a new key signed by parent (self-signed
// when parent is nil).
func testCert(t *testing.T, cn string, parent *x509.Certificate, parentKey crypto.Signer, mod func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
		parent, parentKey = tmpl, key
	}
	if mod != nil {
		mod(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestPoolAuthenticator(t *testing.T) {
	ctx := context.Background()
	root, rootKey := testCert(t, "root", nil, nil, nil)
	other, otherKey := testCert(t, "other root", nil, nil, nil)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	auth := PoolAuthenticator(pool)

	good, _ := testCert(t, "device-1", root, rootKey, nil)
	stranger, _ := testCert(t, "device-2", other, otherKey, nil)
	serverOnly, _ := testCert(t, "device-3", root, rootKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	expired, _ := testCert(t, "device-4", root, rootKey, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	for _, c := range []struct {
		name   string
		auth   CertificateAuthenticator
		cert   *x509.Certificate
		wantID string
	}{
		{"issued by the pool", auth, good, "device-1"},
		{"the root itself", auth, root, "root"},
		{"another CA", auth, stranger, ""},
		{"server authentication only", auth, serverOnly, ""},
		{"expired", auth, expired, ""},
		{"empty pool", PoolAuthenticator(x509.NewCertPool()), good, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.auth.AuthenticateCertificate(ctx, c.cert, &AuthRequest{Op: OpEnroll})
			if c.wantID == "" {
				if !errors.Is(err, ErrUnauthenticated) || id != nil {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil || id == nil || id.UserID != c.wantID {
				t.Fatalf("got %+v, %v; want UserID %q", id, err, c.wantID)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"B5B954E81FBCB94EB79BD08BE625F4EE", true},
		{"b5b954e81fbcb94eb79bd08be625f4ee", true},
		{"7BA748C8-703E-4DF2-A74A-92984117346A", true},
		{"{7BA748C8-703E-4DF2-A74A-92984117346A}", true},
		{"device_1.example", true},
		{"a", true},
		{strings.Repeat("F", 64), true},
		{strings.Repeat("A", 128), true},
		{strings.Repeat("A", 129), false},
		{"", false},
		{"ABC DEF", false},
		{"ABC/DEF", false},
		{"..\\x", false},
		{"CN=x,O=y", false},
		{"id\x00", false},
		{"id\n", false},
		{"<id>", false},
		{"a%2Fb", false},
		{"zoë", false},
		{"id!x", false},
	} {
		if got := validID(c.id); got != c.ok {
			t.Errorf("validID(%q) = %v, want %v", c.id, got, c.ok)
		}
	}
}

func TestOperationString(t *testing.T) {
	for op, want := range map[Operation]string{OpPolicies: "GetPolicies", OpEnroll: "Enroll", 0: "Operation(0)", 42: "Operation(42)"} {
		if got := op.String(); got != want {
			t.Errorf("Operation(%d).String() = %q, want %q", int(op), got, want)
		}
	}
}
