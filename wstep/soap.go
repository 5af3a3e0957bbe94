package wstep

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/internal/xmlsafe"
)

// Bounds on device input. The HTTP layer caps bodies lower than maxBytes.
const (
	maxBytes        = 4 << 20
	maxDepth        = 32
	maxTokens       = 20000
	maxAttrs        = 64
	maxContextItems = 512
	maxContextValue = 64 << 10
	maxTokenBase64  = 1 << 20
)

// Namespaces used only on the wire.
const (
	nsXSI         = "http://www.w3.org/2001/XMLSchema-instance"
	nsDiagnostics = "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics"
)

// timestampLayout is the u:Timestamp form Windows and WCF use: UTC with
// milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// Header is the WS-Addressing and WS-Security header of a request.
// Decoders trim the whitespace around every value (the MS-MDE2 examples
// break lines inside a:Action and a:To) except the password.
type Header struct {
	// Action is the a:Action. Encoders write the message's own action
	// when it is empty.
	Action string
	// MessageID is the a:MessageID, kept as sent, even when it is not a
	// well-formed URN (the MS-MDE2 example has "urn:uuid: 7481…").
	// Responses echo it in a:RelatesTo.
	MessageID string
	// To is the a:To: the URL the client called.
	To string
	// ReplyTo is the a:ReplyTo/a:Address, normally the WS-Addressing
	// anonymous address.
	ReplyTo string
	// Security is the wsse:Security header, nil when there is none.
	Security *Security
}

// Security is the wsse:Security header: the credential of a policy or
// enrollment request ([MS-MDE2] 3.3.4.1.1.1, 3.4.4.1.1.1).
type Security struct {
	// Username is the OnPremise credential.
	Username *UsernameToken
	// BinaryToken is a Federated security token, or the X.509 certificate
	// of certificate authentication.
	BinaryToken *BinarySecurityToken
	// Timestamp is the u:Timestamp, signed in certificate authentication.
	Timestamp *Timestamp
	// HasSignature reports that a ds:Signature is present. Decoding does
	// not verify it; VerifyCertificateAuth does. Encoders ignore it.
	HasSignature bool
	// Raw, when set, is written verbatim as the content of wsse:Security
	// instead of the fields above (a client puts SignCertificateAuth's
	// output here). It may use the prefixes s, a, u and wsse, which the
	// envelope declares, and must declare any other. Decoders leave it
	// nil.
	Raw []byte
}

// UsernameToken is a WS-Security UsernameToken.
type UsernameToken struct {
	// ID is the u:Id attribute.
	ID string
	// Username is required: a UsernameToken without one is refused with
	// FaultInvalidSecurity.
	Username string
	// Password is kept exactly as sent, whitespace included.
	Password string
	// PasswordType is the Type attribute of wsse:Password, normally
	// PasswordText.
	PasswordType string
}

// BinarySecurityToken is a wsse:BinarySecurityToken.
type BinarySecurityToken struct {
	// ValueType says what Data holds: ValueTypePKCS10, ValueTypePKCS7,
	// ValueTypeUserToken, ValueTypeJWT, ValueTypeX509v3 or
	// ValueTypeProvisionDoc.
	ValueType string
	// EncodingType is normally EncodingBase64; encoders write that when it
	// is empty.
	EncodingType string
	// Data is the decoded content. Decoders accept base64 with whitespace
	// inside and with or without padding; encoders write standard padded
	// base64.
	Data []byte
}

// Timestamp is a WS-Security u:Timestamp. Decoders return UTC times;
// encoders write UTC with milliseconds.
type Timestamp struct {
	// ID is the u:Id attribute, which a signature references.
	ID string
	// Created and Expires are zero when absent.
	Created time.Time
	Expires time.Time
}

// Envelope decoding.

type envelopeXML[B any] struct {
	XMLName xml.Name   `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  *headerXML `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body    *B         `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

// Header children are matched by local name in any namespace; only the
// envelope, its header and body, the operation element and wsse:Security
// must be in their namespaces.
type headerXML struct {
	Action    string `xml:"Action"`
	MessageID string `xml:"MessageID"`
	To        string `xml:"To"`
	ReplyTo   struct {
		Address string `xml:"Address"`
	} `xml:"ReplyTo"`
	Security *securityXML `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
}

type securityXML struct {
	UsernameToken *struct {
		ID       string `xml:"Id,attr"`
		Username string `xml:"Username"`
		Password struct {
			Type  string `xml:"Type,attr"`
			Value string `xml:",chardata"`
		} `xml:"Password"`
	} `xml:"UsernameToken"`
	BinarySecurityToken *bstXML `xml:"BinarySecurityToken"`
	Timestamp           *struct {
		ID      string `xml:"Id,attr"`
		Created string `xml:"Created"`
		Expires string `xml:"Expires"`
	} `xml:"Timestamp"`
	Signature *struct{} `xml:"Signature"`
}

type bstXML struct {
	ValueType    string `xml:"ValueType,attr"`
	EncodingType string `xml:"EncodingType,attr"`
	Data         string `xml:",chardata"`
}

// nillableXML is an element that may carry xsi:nil="true".
type nillableXML struct {
	Nil   string `xml:"nil,attr"`
	Value string `xml:",chardata"`
}

// value returns the trimmed content, or "" for a nil element.
func (n *nillableXML) value() string {
	if v := strings.TrimSpace(n.Nil); v == "true" || v == "1" {
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// utf8BOM is tolerated at the start of a message; encoding/xml would read
// it as text before the root element.
const utf8BOM = "\uFEFF"

// envelopeLimits bounds every message before it is decoded.
func envelopeLimits() xmlsafe.Limits {
	return xmlsafe.Limits{MaxBytes: maxBytes, MaxDepth: maxDepth, MaxTokens: maxTokens, MaxAttrs: maxAttrs}
}

// decodeEnvelope checks b against the bounds and unmarshals it as a SOAP
// 1.2 envelope whose body is a B. It fails with FaultMessageFormat when b
// is not one or has no body.
func decodeEnvelope[B any](b []byte) (*envelopeXML[B], error) {
	b = bytes.TrimPrefix(b, []byte(utf8BOM))
	if err := xmlsafe.Check(b, envelopeLimits()); err != nil {
		if errors.Is(err, xmlsafe.ErrLimit) {
			return nil, faultf(FaultMessageFormat, "the message exceeds a size limit (%s)", strings.TrimPrefix(err.Error(), "xmlsafe: limit exceeded: "))
		}
		return nil, faultf(FaultMessageFormat, "the message is not well-formed XML (%s)", strings.TrimPrefix(err.Error(), "xmlsafe: malformed XML: "))
	}
	env := new(envelopeXML[B])
	if err := xml.Unmarshal(b, env); err != nil {
		// After Check, the only failure left is a root element other than
		// a SOAP 1.2 Envelope; the decoder's text names it, so it is not
		// repeated.
		return nil, faultf(FaultMessageFormat, "the root element is not a SOAP 1.2 Envelope")
	}
	if env.Body == nil {
		return nil, faultf(FaultMessageFormat, "the envelope has no SOAP 1.2 Body")
	}
	return env, nil
}

// header converts the decoded header. A malformed wsse:Security header is
// FaultInvalidSecurity.
func (h *headerXML) header() (Header, error) {
	if h == nil {
		return Header{}, nil
	}
	out := Header{
		Action:    strings.TrimSpace(h.Action),
		MessageID: strings.TrimSpace(h.MessageID),
		To:        strings.TrimSpace(h.To),
		ReplyTo:   strings.TrimSpace(h.ReplyTo.Address),
	}
	if h.Security == nil {
		return out, nil
	}
	s := h.Security
	sec := &Security{HasSignature: s.Signature != nil}
	if u := s.UsernameToken; u != nil {
		name := strings.TrimSpace(u.Username)
		if name == "" {
			return Header{}, faultf(FaultInvalidSecurity, "the UsernameToken has no Username")
		}
		sec.Username = &UsernameToken{
			ID:           strings.TrimSpace(u.ID),
			Username:     name,
			Password:     u.Password.Value,
			PasswordType: strings.TrimSpace(u.Password.Type),
		}
	}
	if t := s.BinarySecurityToken; t != nil {
		tok, err := t.token(FaultInvalidSecurity, "header BinarySecurityToken")
		if err != nil {
			return Header{}, err
		}
		sec.BinaryToken = &tok
	}
	if t := s.Timestamp; t != nil {
		ts := &Timestamp{ID: strings.TrimSpace(t.ID)}
		var ok bool
		if ts.Created, ok = parseTime(t.Created); !ok {
			return Header{}, faultf(FaultInvalidSecurity, "the Timestamp has a malformed Created time")
		}
		if ts.Expires, ok = parseTime(t.Expires); !ok {
			return Header{}, faultf(FaultInvalidSecurity, "the Timestamp has a malformed Expires time")
		}
		sec.Timestamp = ts
	}
	out.Security = sec
	return out, nil
}

// token decodes a BinarySecurityToken. Bad base64 is reported with the
// given subcode; an oversized token is FaultMessageFormat.
func (t *bstXML) token(code FaultSubcode, what string) (BinarySecurityToken, error) {
	data, err := decodeBase64(t.Data)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return BinarySecurityToken{}, faultf(FaultMessageFormat, "the %s exceeds %d bytes of base64", what, maxTokenBase64)
		}
		return BinarySecurityToken{}, faultf(code, "the %s is not valid base64", what)
	}
	return BinarySecurityToken{
		ValueType:    strings.TrimSpace(t.ValueType),
		EncodingType: strings.TrimSpace(t.EncodingType),
		Data:         data,
	}, nil
}

var errTooLarge = errors.New("wstep: token too large")

// decodeBase64 decodes standard base64 with any XML whitespace inside and
// with or without padding.
func decodeBase64(s string) ([]byte, error) {
	clean := make([]byte, 0, min(len(s), maxTokenBase64+1))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			if len(clean) == maxTokenBase64 {
				return nil, errTooLarge
			}
			clean = append(clean, c)
		}
	}
	clean = bytes.TrimRight(clean, "=")
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// parseTime parses an xs:dateTime (RFC 3339, or without a zone, read as
// UTC) and returns it in UTC. An empty value is the zero time. Years
// outside 1–9999 are refused so that the time can be written again.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return time.Time{}, false
		}
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// Envelope encoding.

// writer builds a message. Values go through xml.EscapeText, which also
// escapes tabs and line breaks, so nothing the caller passes can change
// the structure or be normalised away by the reader.
type writer struct{ bytes.Buffer }

// text writes an escaped value (element content or attribute value).
func (w *writer) text(s string) {
	_ = xml.EscapeText(&w.Buffer, []byte(s)) // a bytes.Buffer does not fail
}

// leaf writes <name>value</name>.
func (w *writer) leaf(name, value string) {
	w.WriteString("<" + name + ">")
	w.text(value)
	w.WriteString("</" + name + ">")
}

// nilLeaf writes <name xsi:nil="true"/>.
func (w *writer) nilLeaf(name string) {
	w.WriteString("<" + name + ` xsi:nil="true"/>`)
}

const envelopeOpen = `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing +
	`" xmlns:u="` + NSUtility + `" xmlns:wsse="` + NSSecExt + `">`

// responseHeader opens the envelope and writes the header of a response.
// security, when not nil, writes the content of a wsse:Security header.
func (w *writer) responseHeader(action, relatesTo, activityID string, security func()) {
	w.WriteString(envelopeOpen + `<s:Header><a:Action s:mustUnderstand="1">`)
	w.text(action)
	w.WriteString(`</a:Action>`)
	if relatesTo != "" {
		w.leaf("a:RelatesTo", relatesTo)
	}
	if activityID != "" {
		w.WriteString(`<ActivityId CorrelationId="`)
		w.text(activityID)
		w.WriteString(`" xmlns="` + nsDiagnostics + `">`)
		w.text(activityID)
		w.WriteString(`</ActivityId>`)
	}
	if security != nil {
		w.WriteString(`<wsse:Security s:mustUnderstand="1">`)
		security()
		w.WriteString(`</wsse:Security>`)
	}
	w.WriteString(`</s:Header><s:Body>`)
}

// requestHeader opens the envelope and writes the header of a request.
func (w *writer) requestHeader(h *Header, action string) {
	if h.Action != "" {
		action = h.Action
	}
	w.WriteString(envelopeOpen + `<s:Header><a:Action s:mustUnderstand="1">`)
	w.text(action)
	w.WriteString(`</a:Action>`)
	if h.MessageID != "" {
		w.leaf("a:MessageID", h.MessageID)
	}
	if h.ReplyTo != "" {
		w.WriteString(`<a:ReplyTo>`)
		w.leaf("a:Address", h.ReplyTo)
		w.WriteString(`</a:ReplyTo>`)
	}
	if h.To != "" {
		w.WriteString(`<a:To s:mustUnderstand="1">`)
		w.text(h.To)
		w.WriteString(`</a:To>`)
	}
	if s := h.Security; s != nil {
		w.WriteString(`<wsse:Security s:mustUnderstand="1">`)
		if s.Raw != nil {
			w.Write(s.Raw)
		} else {
			w.security(s)
		}
		w.WriteString(`</wsse:Security>`)
	}
	w.WriteString(`</s:Header><s:Body>`)
}

// security writes the content of a wsse:Security header from its fields.
func (w *writer) security(s *Security) {
	if t := s.Timestamp; t != nil {
		w.timestamp(t)
	}
	if u := s.Username; u != nil {
		w.WriteString(`<wsse:UsernameToken`)
		if u.ID != "" {
			w.WriteString(` u:Id="`)
			w.text(u.ID)
			w.WriteString(`"`)
		}
		w.WriteString(`>`)
		w.leaf("wsse:Username", u.Username)
		w.WriteString(`<wsse:Password`)
		if u.PasswordType != "" {
			w.WriteString(` wsse:Type="`)
			w.text(u.PasswordType)
			w.WriteString(`"`)
		}
		w.WriteString(`>`)
		w.text(u.Password)
		w.WriteString(`</wsse:Password></wsse:UsernameToken>`)
	}
	if t := s.BinaryToken; t != nil {
		w.binaryToken(t)
	}
}

func (w *writer) timestamp(t *Timestamp) {
	w.WriteString(`<u:Timestamp`)
	if t.ID != "" {
		w.WriteString(` u:Id="`)
		w.text(t.ID)
		w.WriteString(`"`)
	}
	w.WriteString(`>`)
	w.leaf("u:Created", t.Created.UTC().Format(timestampLayout))
	w.leaf("u:Expires", t.Expires.UTC().Format(timestampLayout))
	w.WriteString(`</u:Timestamp>`)
}

func (w *writer) binaryToken(t *BinarySecurityToken) {
	enc := t.EncodingType
	if enc == "" {
		enc = EncodingBase64
	}
	w.WriteString(`<wsse:BinarySecurityToken ValueType="`)
	w.text(t.ValueType)
	w.WriteString(`" EncodingType="`)
	w.text(enc)
	w.WriteString(`">`)
	w.WriteString(base64.StdEncoding.EncodeToString(t.Data))
	w.WriteString(`</wsse:BinarySecurityToken>`)
}

// finish closes the body and the envelope and returns the message.
func (w *writer) finish() []byte {
	w.WriteString(`</s:Body></s:Envelope>`)
	return w.Bytes()
}
