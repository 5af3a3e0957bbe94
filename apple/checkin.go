package apple

import (
	"errors"
	"fmt"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// MessageType is the MessageType key of a check-in message.
type MessageType string

// Check-in message types.
const (
	MessageAuthenticate          MessageType = "Authenticate"
	MessageTokenUpdate           MessageType = "TokenUpdate"
	MessageCheckOut              MessageType = "CheckOut"
	MessageUserAuthenticate      MessageType = "UserAuthenticate"
	MessageSetBootstrapToken     MessageType = "SetBootstrapToken"
	MessageGetBootstrapToken     MessageType = "GetBootstrapToken"
	MessageDeclarativeManagement MessageType = "DeclarativeManagement"
	MessageGetToken              MessageType = "GetToken"
)

// Authenticate is the first message of an enrollment, sent when the MDM
// payload is being installed. Only the device channel sends it.
type Authenticate struct {
	Enrollment
	Topic        string
	BuildVersion string
	OSVersion    string
	ProductName  string
	Model        string
	ModelName    string
	DeviceName   string
	SerialNumber string
	IMEI         string
	MEID         string
	// Raw is the message body as received.
	Raw []byte
}

// TokenUpdate carries the push token of a channel. The first one after
// Authenticate (or, for a user channel, the first one ever) completes the
// enrollment.
type TokenUpdate struct {
	Enrollment
	Topic string
	// Token is the APNs device token.
	Token []byte
	// PushMagic goes in every push to this channel.
	PushMagic string
	// UnlockToken clears the passcode (ClearPasscode); a secret.
	UnlockToken []byte
	// AwaitingConfiguration is true while Setup Assistant waits for
	// DeviceConfigured.
	AwaitingConfiguration bool
	// NotOnConsole is true for a macOS user channel whose user is not
	// logged in at the console.
	NotOnConsole bool
	// UserConfiguration is true for a macOS user channel.
	UserConfiguration bool
	Raw               []byte
}

// CheckOut is sent when the MDM profile is removed and the payload asked
// for it (CheckOutWhenRemoved).
type CheckOut struct {
	Enrollment
	Topic string
	Raw   []byte
}

// UserAuthenticate asks the server to authenticate a macOS user channel
// before it is created. The first message has no DigestResponse; the second
// answers the server's DigestChallenge.
type UserAuthenticate struct {
	Enrollment
	DigestResponse string
	Raw            []byte
}

// SetBootstrapToken escrows the device's bootstrap token. An empty token
// removes the escrowed one.
type SetBootstrapToken struct {
	Enrollment
	// BootstrapToken is a secret.
	BootstrapToken        []byte
	AwaitingConfiguration bool
	Raw                   []byte
}

// GetBootstrapToken asks for the escrowed bootstrap token.
type GetBootstrapToken struct {
	Enrollment
	AwaitingConfiguration bool
	Raw                   []byte
}

// DeclarativeManagement is a Declarative Device Management request: Endpoint
// names the resource ("tokens", "declaration-items", "status",
// "declaration/<type>/<identifier>"), and Data carries the JSON of a status
// report.
type DeclarativeManagement struct {
	Enrollment
	Endpoint string
	Data     []byte
	Raw      []byte
}

// GetToken asks the server for a token of a service (TokenServiceType, for
// example "com.apple.maid" or "com.apple.watch.pairing").
type GetToken struct {
	Enrollment
	TokenServiceType string
	// TokenParameters are the service's parameters, as decoded.
	TokenParameters map[string]any
	Raw             []byte
}

// BootstrapToken is the answer to GetBootstrapToken.
type BootstrapToken struct {
	BootstrapToken []byte `plist:"BootstrapToken"`
}

// GetTokenResponse is the answer to GetToken.
type GetTokenResponse struct {
	TokenData []byte `plist:"TokenData"`
}

// checkinWire has every key of every check-in message, so a body is
// decoded in one pass whatever its type.
type checkinWire struct {
	Enrollment
	MessageType           string         `plist:"MessageType,omitempty"`
	Topic                 string         `plist:"Topic,omitempty"`
	BuildVersion          string         `plist:"BuildVersion,omitempty"`
	OSVersion             string         `plist:"OSVersion,omitempty"`
	ProductName           string         `plist:"ProductName,omitempty"`
	Model                 string         `plist:"Model,omitempty"`
	ModelName             string         `plist:"ModelName,omitempty"`
	DeviceName            string         `plist:"DeviceName,omitempty"`
	SerialNumber          string         `plist:"SerialNumber,omitempty"`
	IMEI                  string         `plist:"IMEI,omitempty"`
	MEID                  string         `plist:"MEID,omitempty"`
	Token                 []byte         `plist:"Token,omitempty"`
	PushMagic             string         `plist:"PushMagic,omitempty"`
	UnlockToken           []byte         `plist:"UnlockToken,omitempty"`
	AwaitingConfiguration bool           `plist:"AwaitingConfiguration,omitempty"`
	NotOnConsole          bool           `plist:"NotOnConsole,omitempty"`
	UserConfiguration     bool           `plist:"UserConfiguration,omitempty"`
	DigestResponse        string         `plist:"DigestResponse,omitempty"`
	BootstrapToken        []byte         `plist:"BootstrapToken,omitempty"`
	Endpoint              string         `plist:"Endpoint,omitempty"`
	Data                  []byte         `plist:"Data,omitempty"`
	TokenServiceType      string         `plist:"TokenServiceType,omitempty"`
	TokenParameters       map[string]any `plist:"TokenParameters,omitempty"`
}

// Decoding limits for check-in messages and command reports. Real messages
// are a flat dict of a few keys; a command report with a large result
// (InstalledApplicationList on a busy Mac) stays far below these.
var messageLimits = plist.Limits{MaxDepth: 24, MaxValues: 200000, MaxValueBytes: 8 << 20}

// ErrMalformed is wrapped by every decoding error: the body is not a
// property list, lacks a required key, or has a key of the wrong type.
var ErrMalformed = errors.New("apple: malformed message")

// UnknownMessageError is returned by DecodeCheckin for a well-formed body
// whose MessageType this package does not know. The HTTP handler answers
// it with 400.
type UnknownMessageError struct {
	MessageType string
}

func (e *UnknownMessageError) Error() string {
	return fmt.Sprintf("apple: unknown check-in message type %q", e.MessageType)
}

// DecodeCheckin decodes a check-in body into one of *Authenticate,
// *TokenUpdate, *CheckOut, *UserAuthenticate, *SetBootstrapToken,
// *GetBootstrapToken, *DeclarativeManagement or *GetToken. Each keeps body
// in its Raw field. Errors wrap ErrMalformed, or are *UnknownMessageError.
func DecodeCheckin(body []byte) (any, error) {
	var w checkinWire
	if err := plist.UnmarshalLimits(body, &w, messageLimits); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch MessageType(w.MessageType) {
	case MessageAuthenticate:
		return &Authenticate{
			Enrollment: w.Enrollment, Topic: w.Topic, BuildVersion: w.BuildVersion,
			OSVersion: w.OSVersion, ProductName: w.ProductName, Model: w.Model,
			ModelName: w.ModelName, DeviceName: w.DeviceName, SerialNumber: w.SerialNumber,
			IMEI: w.IMEI, MEID: w.MEID, Raw: body,
		}, nil
	case MessageTokenUpdate:
		if len(w.Token) == 0 || w.PushMagic == "" {
			return nil, fmt.Errorf("%w: TokenUpdate without Token or PushMagic", ErrMalformed)
		}
		return &TokenUpdate{
			Enrollment: w.Enrollment, Topic: w.Topic, Token: w.Token, PushMagic: w.PushMagic,
			UnlockToken: w.UnlockToken, AwaitingConfiguration: w.AwaitingConfiguration,
			NotOnConsole: w.NotOnConsole, UserConfiguration: w.UserConfiguration, Raw: body,
		}, nil
	case MessageCheckOut:
		return &CheckOut{Enrollment: w.Enrollment, Topic: w.Topic, Raw: body}, nil
	case MessageUserAuthenticate:
		return &UserAuthenticate{Enrollment: w.Enrollment, DigestResponse: w.DigestResponse, Raw: body}, nil
	case MessageSetBootstrapToken:
		return &SetBootstrapToken{
			Enrollment: w.Enrollment, BootstrapToken: w.BootstrapToken,
			AwaitingConfiguration: w.AwaitingConfiguration, Raw: body,
		}, nil
	case MessageGetBootstrapToken:
		return &GetBootstrapToken{Enrollment: w.Enrollment, AwaitingConfiguration: w.AwaitingConfiguration, Raw: body}, nil
	case MessageDeclarativeManagement:
		if w.Endpoint == "" {
			return nil, fmt.Errorf("%w: DeclarativeManagement without Endpoint", ErrMalformed)
		}
		return &DeclarativeManagement{Enrollment: w.Enrollment, Endpoint: w.Endpoint, Data: w.Data, Raw: body}, nil
	case MessageGetToken:
		if w.TokenServiceType == "" {
			return nil, fmt.Errorf("%w: GetToken without TokenServiceType", ErrMalformed)
		}
		return &GetToken{
			Enrollment: w.Enrollment, TokenServiceType: w.TokenServiceType,
			TokenParameters: w.TokenParameters, Raw: body,
		}, nil
	case "":
		return nil, fmt.Errorf("%w: no MessageType", ErrMalformed)
	}
	return nil, &UnknownMessageError{MessageType: truncate(w.MessageType, 64)}
}

// EncodeCheckin encodes a check-in message (any of the types DecodeCheckin
// returns) as a property list with its MessageType. The Raw field is
// ignored. It is the inverse of DecodeCheckin, for simulated devices and
// tests.
func EncodeCheckin(m any) ([]byte, error) {
	var w checkinWire
	switch m := m.(type) {
	case *Authenticate:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageAuthenticate), Topic: m.Topic,
			BuildVersion: m.BuildVersion, OSVersion: m.OSVersion, ProductName: m.ProductName, Model: m.Model,
			ModelName: m.ModelName, DeviceName: m.DeviceName, SerialNumber: m.SerialNumber, IMEI: m.IMEI, MEID: m.MEID}
	case *TokenUpdate:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageTokenUpdate), Topic: m.Topic,
			Token: m.Token, PushMagic: m.PushMagic, UnlockToken: m.UnlockToken,
			AwaitingConfiguration: m.AwaitingConfiguration, NotOnConsole: m.NotOnConsole,
			UserConfiguration: m.UserConfiguration}
	case *CheckOut:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageCheckOut), Topic: m.Topic}
	case *UserAuthenticate:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageUserAuthenticate), DigestResponse: m.DigestResponse}
	case *SetBootstrapToken:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageSetBootstrapToken),
			BootstrapToken: m.BootstrapToken, AwaitingConfiguration: m.AwaitingConfiguration}
	case *GetBootstrapToken:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageGetBootstrapToken),
			AwaitingConfiguration: m.AwaitingConfiguration}
	case *DeclarativeManagement:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageDeclarativeManagement),
			Endpoint: m.Endpoint, Data: m.Data}
	case *GetToken:
		w = checkinWire{Enrollment: m.Enrollment, MessageType: string(MessageGetToken),
			TokenServiceType: m.TokenServiceType, TokenParameters: m.TokenParameters}
	default:
		return nil, fmt.Errorf("apple: %T is not a check-in message", m)
	}
	return plist.Marshal(&w)
}

// truncate bounds device-supplied text that ends up in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
