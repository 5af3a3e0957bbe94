package appletest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// Defaults of a Device: a MacBook Air on macOS Sonoma.
const (
	DefaultModel        = "Mac14,2"
	DefaultModelName    = "MacBook Air"
	DefaultProductName  = "Mac14,2"
	DefaultOSVersion    = "14.6.1"
	DefaultBuildVersion = "23G93"
	DefaultDeviceName   = "Simulated MacBook Air"
	// DefaultTopic is the APNs topic a device uses when neither Options
	// nor an enrollment profile name one.
	DefaultTopic = "com.apple.mgmt.External.appletest"
	// DefaultMaxCommands bounds the commands of one Poll.
	DefaultMaxCommands = 1000
)

// Options configure a Device. Options may be nil; every zero field takes
// the default its comment gives. New copies what it needs, so changing
// Options afterwards has no effect.
type Options struct {
	// UDID identifies the device; zero means a random upper-case UUID.
	UDID string
	// SerialNumber; zero means 10 random upper-case letters and digits.
	SerialNumber string
	// Facts the device reports in Authenticate and DeviceInformation;
	// zero means the Default... constants.
	Model        string
	ModelName    string
	ProductName  string
	OSVersion    string
	BuildVersion string
	DeviceName   string
	// Facts adds keys to the answers of DeviceInformation, or replaces
	// the simulated ones (for example "IsSupervised": true). Values are
	// property list values: string, bool, int64, float64, []byte,
	// time.Time, []any, map[string]any.
	Facts map[string]any

	// Key is the identity key the device sends in its SCEP request. It
	// must be an *rsa.PrivateKey, or a crypto.Signer that is also a
	// crypto.Decrypter with an RSA public key, because the SCEP reply is
	// encrypted to it. Nil means a new RSA key for every enrollment, of
	// KeySize bits (or the SCEP payload's Keysize). Tests that enroll many
	// devices save time by passing keys generated once.
	Key crypto.Signer
	// KeySize of generated keys; zero means 2048.
	KeySize int

	// ServerURL and CheckInURL are where the device sends command reports
	// and check-in messages before (or without) an enrollment profile; an
	// installed enrollment profile replaces them. Zero CheckInURL means
	// ServerURL.
	ServerURL  string
	CheckInURL string
	// Topic is the APNs topic sent in Authenticate and TokenUpdate until
	// an enrollment profile names one; zero means DefaultTopic.
	Topic string
	// PushToken and PushMagic are sent in TokenUpdate; zero means 32
	// random bytes and a random UUID.
	PushToken []byte
	PushMagic string

	// NoSignMessage stops the device from signing its messages into the
	// Mdm-Signature header. The device also stops when an installed
	// enrollment profile's MDM payload has SignMessage false.
	NoSignMessage bool
	// UseTLSIdentity presents the identity certificate as the TLS client
	// certificate whenever the server asks for one. It needs an
	// HTTPClient whose Transport is nil or an *http.Transport.
	UseTLSIdentity bool
	// HTTPClient sends every request; tests pass the Client() of their
	// httptest.Server. Nil means a client with a fresh default transport
	// and a 60-second timeout.
	HTTPClient *http.Client
	// MaxCommands bounds the commands one Poll runs, so a server that
	// never ends the session cannot hang a test; zero means
	// DefaultMaxCommands.
	MaxCommands int

	// Clock is the device's clock (the signing time of Mdm-Signature and
	// of SCEP requests); nil means time.Now.
	Clock func() time.Time
	// Rand is the source of generated identifiers, tokens and keys; nil
	// means crypto/rand.
	Rand io.Reader
}

// ErrErased is returned by every request of a device that has run
// EraseDevice: an erased device is a new device and no longer enrolled.
var ErrErased = errors.New("appletest: device erased")

// Device is a simulated Mac. Its device channel is driven by its methods,
// and each macOS user gets a UserChannel (see User). A Device is safe for
// concurrent use; one Poll runs at a time per channel, as on a real
// device, and command handlers run without any lock held, so they may call
// the Device.
type Device struct {
	udid, serial                     string
	model, modelName, productName    string
	osVersion, buildVersion, devName string
	facts                            map[string]any
	optKey                           crypto.Signer
	keySize                          int
	noSign                           bool
	maxCommands                      int
	clock                            func() time.Time
	rand                             io.Reader

	// client sends check-ins and reports (with the TLS identity when
	// configured); plain sends SCEP requests.
	client    *http.Client
	plain     *http.Client
	transport *http.Transport // client's, when it presents the identity

	dev channel

	mu sync.Mutex
	// Everything below is guarded by mu.
	cert       *x509.Certificate
	key        crypto.Signer
	serverURL  string
	checkInURL string
	topic      string
	signOff    bool // the enrollment profile said SignMessage false
	erased     bool
	users      map[string]*UserChannel
}

// New returns a device that is not enrolled yet: it has no identity
// certificate until EnrollSCEP, InstallProfile or UseIdentity.
func New(opts *Options) (*Device, error) {
	if opts == nil {
		opts = &Options{}
	}
	d := &Device{
		udid: opts.UDID, serial: opts.SerialNumber,
		model: opts.Model, modelName: opts.ModelName, productName: opts.ProductName,
		osVersion: opts.OSVersion, buildVersion: opts.BuildVersion, devName: opts.DeviceName,
		facts:       make(map[string]any, len(opts.Facts)),
		optKey:      opts.Key,
		keySize:     opts.KeySize,
		noSign:      opts.NoSignMessage,
		maxCommands: opts.MaxCommands,
		clock:       opts.Clock,
		rand:        opts.Rand,
		serverURL:   opts.ServerURL,
		checkInURL:  opts.CheckInURL,
		topic:       opts.Topic,
		users:       make(map[string]*UserChannel),
	}
	for k, v := range opts.Facts {
		d.facts[k] = v
	}
	if d.clock == nil {
		d.clock = time.Now
	}
	if d.rand == nil {
		d.rand = rand.Reader
	}
	if d.keySize == 0 {
		d.keySize = 2048
	}
	if d.keySize < 1024 || d.keySize > 8192 {
		return nil, fmt.Errorf("appletest: KeySize %d outside 1024..8192", d.keySize)
	}
	if d.maxCommands <= 0 {
		d.maxCommands = DefaultMaxCommands
	}
	if d.optKey != nil {
		if err := checkSCEPKey(d.optKey); err != nil {
			return nil, err
		}
	}
	var err error
	if d.udid == "" {
		if d.udid, err = newUUID(d.rand); err != nil {
			return nil, err
		}
	}
	if d.serial == "" {
		if d.serial, err = randomSerial(d.rand); err != nil {
			return nil, err
		}
	}
	setDefault(&d.model, DefaultModel)
	setDefault(&d.modelName, DefaultModelName)
	setDefault(&d.productName, DefaultProductName)
	setDefault(&d.osVersion, DefaultOSVersion)
	setDefault(&d.buildVersion, DefaultBuildVersion)
	setDefault(&d.devName, DefaultDeviceName)
	setDefault(&d.topic, DefaultTopic)
	if d.checkInURL == "" {
		d.checkInURL = d.serverURL
	}
	if err := d.setupHTTP(opts.HTTPClient, opts.UseTLSIdentity); err != nil {
		return nil, err
	}
	d.dev.init(d, apple.Enrollment{UDID: d.udid})
	if len(opts.PushToken) > 0 {
		d.dev.token = append([]byte(nil), opts.PushToken...)
	} else if d.dev.token, err = randomBytes(d.rand, 32); err != nil {
		return nil, err
	}
	if opts.PushMagic != "" {
		d.dev.magic = opts.PushMagic
	} else if d.dev.magic, err = newUUID(d.rand); err != nil {
		return nil, err
	}
	return d, nil
}

func setDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// checkSCEPKey checks that a SCEP reply encrypted to key's public key can
// be opened with it.
func checkSCEPKey(key crypto.Signer) error {
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return errors.New("appletest: the identity key must be RSA (SCEP replies are encrypted to it)")
	}
	if _, ok := key.(crypto.Decrypter); !ok {
		return errors.New("appletest: the identity key must also be a crypto.Decrypter")
	}
	return nil
}

// UDID returns the device's UDID, which is also its enrollment ID under
// apple.DefaultID.
func (d *Device) UDID() string { return d.udid }

// SerialNumber returns the device's serial number.
func (d *Device) SerialNumber() string { return d.serial }

// PushToken returns the APNs token the device sends in TokenUpdate.
func (d *Device) PushToken() []byte { return append([]byte(nil), d.dev.token...) }

// PushMagic returns the PushMagic the device sends in TokenUpdate.
func (d *Device) PushMagic() string { return d.dev.magic }

// Topic returns the APNs topic the device enrolled with.
func (d *Device) Topic() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.topic
}

// Identity returns the device's identity certificate and key; both are nil
// before enrollment.
func (d *Device) Identity() (*x509.Certificate, crypto.Signer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cert, d.key
}

// UseIdentity makes the device present cert and key from now on, in place
// of the identity it enrolled with: a test gives device B the identity of
// device A to check that the server refuses it. The certificate and key
// are not checked against each other.
func (d *Device) UseIdentity(cert *x509.Certificate, key crypto.Signer) {
	d.mu.Lock()
	d.cert, d.key = cert, key
	d.mu.Unlock()
	if d.transport != nil {
		// A TLS identity is per connection.
		d.transport.CloseIdleConnections()
	}
}

// Erased reports whether the device has run EraseDevice.
func (d *Device) Erased() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.erased
}

// Profiles returns the PayloadIdentifier of every profile installed on the
// device channel (the enrollment profile included), in installation
// order.
func (d *Device) Profiles() []string { return d.dev.profileIDs() }

// newUUID returns a random (version 4) UUID in upper case, as Apple writes
// UDIDs and PushMagic.
func newUUID(r io.Reader) (string, error) {
	b, err := randomBytes(r, 16)
	if err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("appletest: reading randomness: %w", err)
	}
	return b, nil
}

// randomSerial makes a serial number shaped like those of recent Macs.
func randomSerial(r io.Reader) (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b, err := randomBytes(r, 10)
	if err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
