package wstep

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/mdmkit/mdmkit/internal/xmlsafe"
)

// actionFault is the WS-Addressing action of a SOAP fault, written when
// EncodeFault is given no action.
const actionFault = "http://www.w3.org/2005/08/addressing/soap/fault"

// EncodeFault writes a SOAP 1.2 fault ([MS-MDE2] 2.2.10): Code s:Receiver
// with the subcode in canonical casing (s:MessageFormat …,
// a:InternalServiceFault and a:InvalidSecurity with the a: prefix bound to
// the WS-Addressing namespace), the reason as s:Text xml:lang="en-US", and,
// when f.ErrorType is set, an s:Detail DeviceEnrollmentServiceError with
// the ErrorType, the reason as Message, and the TraceId when there is one.
// The header carries action (usually the response action of the failed
// request; the WS-Addressing fault action when empty), a:RelatesTo when
// relatesTo is set and an ActivityId when activityID is set. A subcode this
// package does not define is sent as s:EnrollmentServer, the generic
// server error.
func EncodeFault(action, relatesTo, activityID string, f *Fault) ([]byte, error) {
	if f == nil {
		return nil, errors.New("wstep: EncodeFault: nil Fault")
	}
	if action == "" {
		action = actionFault
	}
	code := f.Subcode
	if code < FaultMessageFormat || code > FaultInvalidSecurity {
		code = FaultEnrollmentServer
	}
	var w writer
	w.responseHeader(action, relatesTo, activityID, nil)
	w.WriteString(`<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>` + code.String() +
		`</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">`)
	w.text(f.reason())
	w.WriteString(`</s:Text></s:Reason>`)
	if f.ErrorType != "" {
		w.WriteString(`<s:Detail><DeviceEnrollmentServiceError xmlns="` + NSEnrollment + `">`)
		w.leaf("ErrorType", f.ErrorType)
		w.leaf("Message", f.reason())
		if f.TraceID != "" {
			w.leaf("TraceId", f.TraceID)
		}
		w.WriteString(`</DeviceEnrollmentServiceError></s:Detail>`)
	}
	w.WriteString(`</s:Fault>`)
	return w.finish(), nil
}

// DecodeFault decodes a SOAP 1.2 fault. It is liberal: element names and
// the subcode value match in any casing (the Microsoft documentation's
// sample is all lower case, and some servers send s:internalservicefault),
// with any prefix. A fault whose subcode is missing or unknown comes back
// as FaultEnrollmentServer. Reason is the first s:Text, or the detail's
// Message when there is no s:Text. When b is not a SOAP fault, the error
// is a *Fault with FaultMessageFormat.
func DecodeFault(b []byte) (*Fault, error) {
	s, err := scanFault(b, false)
	if err != nil {
		return nil, err
	}
	if !s.found {
		return nil, faultf(FaultMessageFormat, "the body is not a SOAP fault")
	}
	f := &Fault{
		Subcode:   FaultEnrollmentServer,
		Reason:    strings.TrimSpace(s.reason),
		ErrorType: strings.TrimSpace(s.errorType),
		TraceID:   strings.TrimSpace(s.traceID),
	}
	if f.Reason == "" {
		f.Reason = strings.TrimSpace(s.message)
	}
	sub := strings.TrimSpace(s.subcode)
	if i := strings.LastIndexByte(sub, ':'); i >= 0 {
		sub = sub[i+1:]
	}
	for c := FaultMessageFormat; c <= FaultInvalidSecurity; c++ {
		name := c.String()
		if strings.EqualFold(sub, name[strings.IndexByte(name, ':')+1:]) {
			f.Subcode = c
			break
		}
	}
	return f, nil
}

// IsFault reports whether b is a SOAP 1.2 envelope whose body is a fault,
// in any casing. Clients use it to choose between DecodeFault and the
// response decoder; the response decoders also return the server's fault
// as their error.
func IsFault(b []byte) bool {
	s, err := scanFault(b, true)
	return err == nil && s.found
}

// faultScan is what scanFault collects.
type faultScan struct {
	found                                        bool
	subcode, reason, errorType, message, traceID string
}

// scanFault walks an envelope with case-insensitive element names. With
// firstOnly it stops at the first element of the body.
func scanFault(b []byte, firstOnly bool) (faultScan, error) {
	var s faultScan
	b = bytes.TrimPrefix(b, []byte(utf8BOM))
	if err := xmlsafe.Check(b, envelopeLimits()); err != nil {
		return s, faultf(FaultMessageFormat, "the message is not well-formed XML within the size limits")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	var (
		path    []string // lower-case local names of the open elements
		text    strings.Builder
		capture *string // the field the current leaf fills, if any
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, faultf(FaultMessageFormat, "the message is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			path = append(path, name)
			soap := strings.EqualFold(t.Name.Space, NSEnvelope)
			switch len(path) {
			case 1:
				if name != "envelope" || !soap {
					return s, faultf(FaultMessageFormat, "the root element is not a SOAP 1.2 Envelope")
				}
			case 2:
				// s:Header or s:Body; anything else is ignored.
			case 3:
				if path[1] == "body" && firstOnly {
					s.found = name == "fault" && soap
					return s, nil
				}
				if path[1] == "body" && name == "fault" && soap {
					s.found = true
				}
			}
			capture = nil
			text.Reset()
			if s.found && len(path) > 3 && path[1] == "body" && path[2] == "fault" {
				capture = s.field(path[3:])
			}
		case xml.CharData:
			if capture != nil && text.Len() < maxContextValue {
				text.Write(t)
			}
		case xml.EndElement:
			if capture != nil && *capture == "" {
				*capture = text.String()
			}
			capture = nil
			path = path[:len(path)-1]
		}
	}
}

// field returns the field a leaf inside s:Fault fills, by its path below
// the Fault, or nil.
func (s *faultScan) field(p []string) *string {
	switch strings.Join(p, "/") {
	case "code/subcode/value":
		return &s.subcode
	case "reason/text":
		return &s.reason
	case "detail/deviceenrollmentserviceerror/errortype":
		return &s.errorType
	case "detail/deviceenrollmentserviceerror/message":
		return &s.message
	case "detail/deviceenrollmentserviceerror/traceid":
		return &s.traceID
	}
	return nil
}

// bodyFault returns the server's fault when b is a fault, for the
// response decoders; otherwise it returns a FaultMessageFormat naming the
// element that was expected.
func bodyFault(b []byte, want string) error {
	if IsFault(b) {
		if f, err := DecodeFault(b); err == nil {
			return f
		}
	}
	return faultf(FaultMessageFormat, "the body holds no %s element", want)
}
