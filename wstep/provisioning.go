package wstep

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CertStoreLocation is the store under CertificateStore/My that receives
// the enrollment (client) certificate.
type CertStoreLocation string

// Certificate stores of the client certificate. The wrong store is one of
// the common reasons a device fails to install the provisioning document.
const (
	// StoreUser is used when the RST's EnrollmentType is Full (a user
	// enrollment).
	StoreUser CertStoreLocation = "User"
	// StoreSystem is used when the RST's EnrollmentType is Device.
	StoreSystem CertStoreLocation = "System"
)

// Provisioning describes the wap-provisioningdoc returned in the RSTRC
// ([MS-MDE2] 2.2.9.1). Marshal writes exactly three top-level
// characteristics, CertificateStore, APPLICATION and DMClient, because an
// extra one makes Windows abort the enrollment with 0x83750005; or, with
// CertificatesOnly, CertificateStore alone.
type Provisioning struct {
	// Root is installed in CertificateStore/Root/System/<thumbprint>.
	// Required.
	Root *x509.Certificate
	// Client is installed in CertificateStore/My/<Store>/<thumbprint>,
	// next to an empty PrivateKeyContainer characteristic that tells the
	// device to bind the key it generated for the CSR. Required.
	Client *x509.Certificate
	// Store is StoreUser or StoreSystem. There is no default: the zero
	// value is an error, since a wrong guess breaks the enrollment.
	Store CertStoreLocation
	// Renew, when not nil, adds CertificateStore/My/WSTEP/Renew.
	Renew *RenewSettings
	// Application is the w7 APPLICATION characteristic.
	Application Application
	// DMClient is the DMClient/Provider/<ProviderID> characteristic.
	DMClient DMClient
	// CertificatesOnly writes the CertificateStore characteristic alone
	// and ignores Application and DMClient: the answer to a renewal, which
	// replaces the client certificate and leaves the management account as
	// it is.
	CertificatesOnly bool
}

// RenewSettings is CertificateStore/My/WSTEP/Renew (CertificateStore CSP).
// When you set RenewPeriodDays and RetryIntervalDays, they must be 1–1000,
// and the retry interval must not exceed the renew period.
type RenewSettings struct {
	// ROBOSupport tells the device that the server renews on its behalf
	// (ROBO). It is always written. Federated enrollments support only
	// ROBO renewal, and false makes them fail with OMA DM status 405.
	ROBOSupport bool
	// RenewPeriodDays is how many days before expiry renewal starts
	// (RenewPeriod). Zero omits the parm, and the device uses 42.
	RenewPeriodDays int
	// RetryIntervalDays is the wait between failed renewals
	// (RetryInterval). Zero omits the parm, and the device uses 7.
	RetryIntervalDays int
}

// Application is the w7 APPLICATION characteristic, which creates the OMA DM
// account ([MS-MDE2] 2.2.9.1, w7 APPLICATION CSP). Parms whose field is the
// zero value are omitted unless a default is given.
type Application struct {
	// ProviderID is PROVIDER-ID. It is also the name of the
	// DMClient/Provider characteristic, and the two must match. It must
	// not contain '/'. Required.
	ProviderID string
	// Name is NAME, the account name the user sees. Empty means
	// ProviderID.
	Name string
	// Addr is ADDR, the absolute http(s) URL of the management (OMA DM)
	// service. Windows connects only over HTTPS. Required.
	Addr string
	// Role is ROLE, the security role of the DM session. 0 omits it.
	// Servers commonly send 4294967295.
	Role uint32
	// BackCompatRetryDisabled writes the value-less
	// BACKCOMPATRETRYDISABLED parm, which stops the client from retrying
	// a package with an older protocol version.
	BackCompatRetryDisabled bool
	// ConnRetryFreq is CONNRETRYFREQ, the number of retries after a
	// connection error. 0 omits it, and the device uses 3.
	ConnRetryFreq int
	// InitialBackoffTime is INITIALBACKOFFTIME in milliseconds. 0 omits
	// it, and the device uses 16000.
	InitialBackoffTime int
	// MaxBackoffTime is MAXBACKOFFTIME in milliseconds. 0 omits it, and
	// the device uses 86400000.
	MaxBackoffTime int
	// DefaultEncoding is DEFAULTENCODING: application/vnd.syncml.dm+xml
	// (used when empty) or application/vnd.syncml.dm+wbxml. It is always
	// written.
	DefaultEncoding string
	// SSLClientCertSearchCriteria is SSLCLIENTCERTSEARCHCRITERIA, written
	// as given. Its parts must already be URI-escaped, for example
	// "Subject=CN%3Ddevice&Stores=My%5CUser". Empty omits it.
	SSLClientCertSearchCriteria string
	// ClientAuth is the APPAUTH with AAUTHLEVEL CLIENT. It holds the
	// credentials the server uses to authenticate itself to the device.
	// Its Type must be DIGEST.
	ClientAuth AppAuth
	// ServerAuth is the APPAUTH with AAUTHLEVEL APPSRV. It holds the
	// credentials the device uses to authenticate itself to the server.
	// Its Name is required.
	ServerAuth AppAuth
}

// AppAuth is one APPAUTH characteristic. Both are always written. The Secret
// and Data must not be empty: without AAUTHDATA, Windows 11 fails to
// configure the OMA DM client (0x80070057).
type AppAuth struct {
	// Name is AAUTHNAME. It is omitted from CLIENT when empty and
	// required for APPSRV.
	Name string
	// Secret is AAUTHSECRET. Required.
	Secret string
	// Data is the nonce, written base64-encoded as AAUTHDATA. Required.
	Data []byte
	// Type is AAUTHTYPE: DIGEST (used when empty) or BASIC (APPSRV
	// only).
	Type string
}

// DMClient is the DMClient/Provider/<ProviderID> characteristic (DMClient
// CSP).
type DMClient struct {
	// EntDeviceName is the device name shown in the admin console. Empty
	// omits it.
	EntDeviceName string
	// Poll is the polling schedule.
	Poll Poll
	// Params are extra parms under Provider/<ProviderID>, such as UPN
	// or SyncApplicationVersion. They are written in order, after
	// EntDeviceName and before Poll. Each needs a Name.
	Params []Param
}

// Poll is DMClient/Provider/<ProviderID>/Poll. Intervals are in minutes. A
// number of retries of 0 repeats the schedule forever, and an interval of 0
// disables it. All eight parms are always written. If all six integers are
// zero, which the DMClient CSP says fails, Marshal writes the schedule the
// CSP recommends instead: 5 polls every 15 minutes, then 10 every hour,
// then one a day forever.
type Poll struct {
	NumberOfFirstRetries                 int
	IntervalForFirstSetOfRetries         int
	NumberOfSecondRetries                int
	IntervalForSecondSetOfRetries        int
	NumberOfRemainingScheduledRetries    int
	IntervalForRemainingScheduledRetries int
	// PollOnLogin starts a session at every user login.
	PollOnLogin bool
	// AllUsersPollOnFirstLogin starts a session at each user's first
	// login.
	AllUsersPollOnFirstLogin bool
}

const (
	authTypeDigest  = "DIGEST"
	authTypeBasic   = "BASIC"
	encodingXML     = "application/vnd.syncml.dm+xml"
	encodingWBXML   = "application/vnd.syncml.dm+wbxml"
	datatypeInteger = "integer"
	datatypeBoolean = "boolean"
	datatypeString  = "string"
)

// Marshal validates p and returns the wap-provisioningdoc in compact form
// (no XML declaration, no whitespace between elements). Thumbprints are the
// upper-case hex SHA-1 of each certificate's DER. Errors start with
// "wstep: ".
func (p *Provisioning) Marshal() ([]byte, error) {
	if p == nil {
		return nil, errors.New("wstep: provisioning: nil Provisioning")
	}
	doc, err := p.doc()
	if err != nil {
		return nil, err
	}
	return doc.encode(), nil
}

// doc validates p and builds the document tree.
func (p *Provisioning) doc() (*ProvisioningDoc, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	a := &p.Application

	my := &Characteristic{Type: "My", Children: []*Characteristic{{
		Type: string(p.Store),
		Children: []*Characteristic{
			certCharacteristic(p.Client),
			{Type: "PrivateKeyContainer"},
		},
	}}}
	if r := p.Renew; r != nil {
		renew := &Characteristic{Type: "Renew"}
		renew.add("ROBOSupport", strconv.FormatBool(r.ROBOSupport), datatypeBoolean)
		if r.RenewPeriodDays != 0 {
			renew.add("RenewPeriod", strconv.Itoa(r.RenewPeriodDays), datatypeInteger)
		}
		if r.RetryIntervalDays != 0 {
			renew.add("RetryInterval", strconv.Itoa(r.RetryIntervalDays), datatypeInteger)
		}
		my.Children = append(my.Children, &Characteristic{Type: "WSTEP", Children: []*Characteristic{renew}})
	}
	store := &Characteristic{Type: "CertificateStore", Children: []*Characteristic{
		{Type: "Root", Children: []*Characteristic{{
			Type:     "System",
			Children: []*Characteristic{certCharacteristic(p.Root)},
		}}},
		my,
	}}
	if p.CertificatesOnly {
		return &ProvisioningDoc{Version: "1.1", Characteristics: []*Characteristic{store}}, nil
	}

	app := &Characteristic{Type: "APPLICATION"}
	app.add("APPID", "w7", "")
	app.add("PROVIDER-ID", a.ProviderID, "")
	app.add("NAME", orDefault(a.Name, a.ProviderID), "")
	app.add("ADDR", a.Addr, "")
	if a.Role != 0 {
		app.add("ROLE", strconv.FormatUint(uint64(a.Role), 10), "")
	}
	addInt := func(name string, v int) {
		if v != 0 {
			app.add(name, strconv.Itoa(v), "")
		}
	}
	addInt("CONNRETRYFREQ", a.ConnRetryFreq)
	addInt("INITIALBACKOFFTIME", a.InitialBackoffTime)
	addInt("MAXBACKOFFTIME", a.MaxBackoffTime)
	if a.BackCompatRetryDisabled {
		app.add("BACKCOMPATRETRYDISABLED", "", "")
	}
	app.add("DEFAULTENCODING", orDefault(a.DefaultEncoding, encodingXML), "")
	if a.SSLClientCertSearchCriteria != "" {
		app.add("SSLCLIENTCERTSEARCHCRITERIA", a.SSLClientCertSearchCriteria, "")
	}
	app.Children = []*Characteristic{
		appAuthCharacteristic("CLIENT", &a.ClientAuth),
		appAuthCharacteristic("APPSRV", &a.ServerAuth),
	}

	pl := p.DMClient.Poll
	if pl.NumberOfFirstRetries == 0 && pl.IntervalForFirstSetOfRetries == 0 &&
		pl.NumberOfSecondRetries == 0 && pl.IntervalForSecondSetOfRetries == 0 &&
		pl.NumberOfRemainingScheduledRetries == 0 && pl.IntervalForRemainingScheduledRetries == 0 {
		pl.NumberOfFirstRetries, pl.IntervalForFirstSetOfRetries = 5, 15
		pl.NumberOfSecondRetries, pl.IntervalForSecondSetOfRetries = 10, 60
		pl.NumberOfRemainingScheduledRetries, pl.IntervalForRemainingScheduledRetries = 0, 1440
	}
	poll := &Characteristic{Type: "Poll"}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"NumberOfFirstRetries", pl.NumberOfFirstRetries},
		{"IntervalForFirstSetOfRetries", pl.IntervalForFirstSetOfRetries},
		{"NumberOfSecondRetries", pl.NumberOfSecondRetries},
		{"IntervalForSecondSetOfRetries", pl.IntervalForSecondSetOfRetries},
		{"NumberOfRemainingScheduledRetries", pl.NumberOfRemainingScheduledRetries},
		{"IntervalForRemainingScheduledRetries", pl.IntervalForRemainingScheduledRetries},
	} {
		poll.add(n.name, strconv.Itoa(n.v), datatypeInteger)
	}
	poll.add("PollOnLogin", strconv.FormatBool(pl.PollOnLogin), datatypeBoolean)
	poll.add("AllUsersPollOnFirstLogin", strconv.FormatBool(pl.AllUsersPollOnFirstLogin), datatypeBoolean)

	provider := &Characteristic{Type: a.ProviderID}
	if p.DMClient.EntDeviceName != "" {
		provider.add("EntDeviceName", p.DMClient.EntDeviceName, datatypeString)
	}
	provider.Params = append(provider.Params, p.DMClient.Params...)
	provider.Children = []*Characteristic{poll}
	dm := &Characteristic{Type: "DMClient", Children: []*Characteristic{
		{Type: "Provider", Children: []*Characteristic{provider}},
	}}

	return &ProvisioningDoc{Version: "1.1", Characteristics: []*Characteristic{store, app, dm}}, nil
}

// validate checks everything Marshal needs, in document order.
func (p *Provisioning) validate() error {
	if p.Root == nil || len(p.Root.Raw) == 0 {
		return errors.New("wstep: provisioning: root certificate is missing")
	}
	if p.Client == nil || len(p.Client.Raw) == 0 {
		return errors.New("wstep: provisioning: client certificate is missing")
	}
	if p.Store != StoreUser && p.Store != StoreSystem {
		return fmt.Errorf("wstep: provisioning: certificate store %q is not User or System", p.Store)
	}
	if r := p.Renew; r != nil {
		if r.RenewPeriodDays < 0 || r.RenewPeriodDays > 1000 {
			return fmt.Errorf("wstep: provisioning: RenewPeriod %d is outside 1-1000 days", r.RenewPeriodDays)
		}
		if r.RetryIntervalDays < 0 || r.RetryIntervalDays > 1000 {
			return fmt.Errorf("wstep: provisioning: RetryInterval %d is outside 1-1000 days", r.RetryIntervalDays)
		}
		period, retry := orDefaultInt(r.RenewPeriodDays, 42), orDefaultInt(r.RetryIntervalDays, 7)
		if retry > period {
			return fmt.Errorf("wstep: provisioning: RetryInterval %d exceeds RenewPeriod %d days", retry, period)
		}
	}
	if p.CertificatesOnly {
		return nil
	}

	a := &p.Application
	switch {
	case a.ProviderID == "":
		return errors.New("wstep: provisioning: PROVIDER-ID is empty")
	case strings.Contains(a.ProviderID, "/"):
		return errors.New("wstep: provisioning: PROVIDER-ID contains '/'")
	case a.Addr == "":
		return errors.New("wstep: provisioning: ADDR is empty")
	}
	if u, err := url.Parse(a.Addr); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("wstep: provisioning: ADDR is not an absolute http(s) URL")
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"CONNRETRYFREQ", a.ConnRetryFreq},
		{"INITIALBACKOFFTIME", a.InitialBackoffTime},
		{"MAXBACKOFFTIME", a.MaxBackoffTime},
	} {
		if n.v < 0 {
			return fmt.Errorf("wstep: provisioning: %s is negative", n.name)
		}
	}
	if e := a.DefaultEncoding; e != "" && e != encodingXML && e != encodingWBXML {
		return fmt.Errorf("wstep: provisioning: DEFAULTENCODING %q is not %s or %s", e, encodingXML, encodingWBXML)
	}
	if err := checkAppAuth("CLIENT", &a.ClientAuth); err != nil {
		return err
	}
	if err := checkAppAuth("APPSRV", &a.ServerAuth); err != nil {
		return err
	}

	pl := &p.DMClient.Poll
	if pl.NumberOfFirstRetries < 0 || pl.IntervalForFirstSetOfRetries < 0 ||
		pl.NumberOfSecondRetries < 0 || pl.IntervalForSecondSetOfRetries < 0 ||
		pl.NumberOfRemainingScheduledRetries < 0 || pl.IntervalForRemainingScheduledRetries < 0 {
		return errors.New("wstep: provisioning: a Poll value is negative")
	}
	for i, prm := range p.DMClient.Params {
		if prm.Name == "" {
			return fmt.Errorf("wstep: provisioning: DMClient parm %d has no name", i)
		}
	}

	// encoding/xml would silently replace characters XML cannot carry,
	// so reject them instead of sending a value the host did not choose.
	texts := []string{a.ProviderID, a.Name, a.Addr, a.DefaultEncoding, a.SSLClientCertSearchCriteria,
		a.ClientAuth.Name, a.ClientAuth.Secret, a.ServerAuth.Name, a.ServerAuth.Secret, p.DMClient.EntDeviceName}
	for _, prm := range p.DMClient.Params {
		texts = append(texts, prm.Name, prm.Value, prm.Datatype)
	}
	for _, s := range texts {
		if !isXMLText(s) {
			return errors.New("wstep: provisioning: a value contains a character XML cannot carry")
		}
	}
	return nil
}

func checkAppAuth(level string, x *AppAuth) error {
	switch t := orDefault(x.Type, authTypeDigest); {
	case level == "CLIENT" && t != authTypeDigest:
		return fmt.Errorf("wstep: provisioning: CLIENT AAUTHTYPE %q is not DIGEST", x.Type)
	case t != authTypeDigest && t != authTypeBasic:
		return fmt.Errorf("wstep: provisioning: %s AAUTHTYPE %q is not DIGEST or BASIC", level, x.Type)
	case level == "APPSRV" && x.Name == "":
		return errors.New("wstep: provisioning: APPSRV AAUTHNAME is empty")
	case x.Secret == "":
		return fmt.Errorf("wstep: provisioning: %s AAUTHSECRET is empty", level)
	case len(x.Data) == 0:
		return fmt.Errorf("wstep: provisioning: %s AAUTHDATA is empty", level)
	}
	return nil
}

func appAuthCharacteristic(level string, x *AppAuth) *Characteristic {
	c := &Characteristic{Type: "APPAUTH"}
	c.add("AAUTHLEVEL", level, "")
	c.add("AAUTHTYPE", orDefault(x.Type, authTypeDigest), "")
	if x.Name != "" {
		c.add("AAUTHNAME", x.Name, "")
	}
	c.add("AAUTHSECRET", x.Secret, "")
	c.add("AAUTHDATA", base64.StdEncoding.EncodeToString(x.Data), "")
	return c
}

func certCharacteristic(cert *x509.Certificate) *Characteristic {
	c := &Characteristic{Type: thumbprint(cert.Raw)}
	c.add("EncodedCertificate", base64.StdEncoding.EncodeToString(cert.Raw), "")
	return c
}

// thumbprint returns the upper-case hex SHA-1 of der, the name Windows
// gives a certificate in its stores.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// isXMLText reports whether s is UTF-8 made only of characters XML 1.0
// allows.
func isXMLText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
}
