package wstep

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// RSTRequest is the body of a RequestSecurityToken ([MS-WSTEP] 3.1.4.1,
// [MS-MDE2] 3.4.4.1.1.1): the certificate request and what the device says
// about itself.
type RSTRequest struct {
	// Header carries the credential in Header.Security.
	Header Header
	// TokenType is kept as sent (trimmed); it should be
	// TokenTypeDeviceEnrollment, and encoders write that when it is empty.
	TokenType string
	// RequestType is kept as sent (trimmed): RequestTypeIssue for a new
	// enrollment, RequestTypeRenew for a renewal ([MS-MDE2] 3.5). Encoders
	// write RequestTypeIssue when it is empty.
	RequestType string
	// Token is the body's BinarySecurityToken: a PKCS#10 request
	// (ValueTypePKCS10, see ParseCSR) or a renewal's PKCS#7 (ValueTypePKCS7,
	// see ParseRenewal). Its Data is never empty. Encoders write
	// ValueTypePKCS10 when its ValueType is empty.
	Token BinarySecurityToken
	// Context is the AdditionalContext, in order, duplicates kept.
	Context Context
	// RequestID is the enrollment-namespace RequestID, "" when absent.
	RequestID string
	// Raw is the envelope as received (it aliases the decoder's input);
	// encoders ignore it.
	Raw []byte
}

type rstBody struct {
	RST *struct {
		TokenType         string  `xml:"TokenType"`
		RequestType       string  `xml:"RequestType"`
		Token             *bstXML `xml:"BinarySecurityToken"`
		AdditionalContext struct {
			Items []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:"Value"`
			} `xml:"ContextItem"`
		} `xml:"AdditionalContext"`
		RequestID string `xml:"RequestID"`
	} `xml:"http://docs.oasis-open.org/ws-sx/ws-trust/200512 RequestSecurityToken"`
}

// DecodeRST decodes a RequestSecurityToken. TokenType and RequestType are
// kept as sent for the service to check; context names and values are
// trimmed. Errors are *Fault: FaultMessageFormat for a malformed message,
// one over a limit (more than 512 context items, a value over 64 KiB, a
// token over 1 MiB of base64), one with no RequestSecurityToken body, no
// BinarySecurityToken, an empty one, or one that is not base64;
// FaultInvalidSecurity for a malformed wsse:Security header.
func DecodeRST(b []byte) (*RSTRequest, error) {
	env, err := decodeEnvelope[rstBody](b)
	if err != nil {
		return nil, err
	}
	rst := env.Body.RST
	if rst == nil {
		return nil, faultf(FaultMessageFormat, "the body holds no RequestSecurityToken element")
	}
	if rst.Token == nil {
		return nil, faultf(FaultMessageFormat, "the RequestSecurityToken has no BinarySecurityToken")
	}
	tok, err := rst.Token.token(FaultMessageFormat, "BinarySecurityToken")
	if err != nil {
		return nil, err
	}
	if len(tok.Data) == 0 {
		return nil, faultf(FaultMessageFormat, "the BinarySecurityToken is empty")
	}
	items := rst.AdditionalContext.Items
	if len(items) > maxContextItems {
		return nil, faultf(FaultMessageFormat, "the AdditionalContext has %d items, more than %d", len(items), maxContextItems)
	}
	var ctx Context
	if len(items) > 0 {
		ctx = make(Context, 0, len(items))
	}
	for i, it := range items {
		v := strings.TrimSpace(it.Value)
		if len(v) > maxContextValue {
			return nil, faultf(FaultMessageFormat, "AdditionalContext item %d is longer than %d bytes", i, maxContextValue)
		}
		ctx = append(ctx, ContextItem{Name: strings.TrimSpace(it.Name), Value: v})
	}
	h, err := env.Header.header()
	if err != nil {
		return nil, err
	}
	return &RSTRequest{
		Header:      h,
		TokenType:   strings.TrimSpace(rst.TokenType),
		RequestType: strings.TrimSpace(rst.RequestType),
		Token:       tok,
		Context:     ctx,
		RequestID:   strings.TrimSpace(rst.RequestID),
		Raw:         b,
	}, nil
}

// EncodeRST writes a RequestSecurityToken, as a client sends it. The
// header's Action defaults to ActionRST. It fails when the token is empty
// or the context is larger than DecodeRST accepts.
func EncodeRST(r *RSTRequest) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeRST: nil request")
	}
	if len(r.Token.Data) == 0 {
		return nil, errors.New("wstep: EncodeRST: empty BinarySecurityToken")
	}
	if len(r.Context) > maxContextItems {
		return nil, fmt.Errorf("wstep: EncodeRST: %d context items, more than %d", len(r.Context), maxContextItems)
	}
	for i, it := range r.Context {
		if len(it.Value) > maxContextValue {
			return nil, fmt.Errorf("wstep: EncodeRST: context item %d is longer than %d bytes", i, maxContextValue)
		}
	}
	tokenType, requestType := r.TokenType, r.RequestType
	if tokenType == "" {
		tokenType = TokenTypeDeviceEnrollment
	}
	if requestType == "" {
		requestType = RequestTypeIssue
	}
	tok := r.Token
	if tok.ValueType == "" {
		tok.ValueType = ValueTypePKCS10
	}
	var w writer
	w.requestHeader(&r.Header, ActionRST)
	w.WriteString(`<wst:RequestSecurityToken xmlns:wst="` + NSTrust + `" xmlns:ac="` + NSAuthorization + `">`)
	w.leaf("wst:TokenType", tokenType)
	w.leaf("wst:RequestType", requestType)
	w.binaryToken(&tok)
	w.WriteString(`<ac:AdditionalContext>`)
	for _, it := range r.Context {
		w.WriteString(`<ac:ContextItem Name="`)
		w.text(it.Name)
		w.WriteString(`">`)
		w.leaf("ac:Value", it.Value)
		w.WriteString(`</ac:ContextItem>`)
	}
	w.WriteString(`</ac:AdditionalContext>`)
	if r.RequestID != "" {
		w.WriteString(`<RequestID xmlns="` + NSEnrollment + `">`)
		w.text(r.RequestID)
		w.WriteString(`</RequestID>`)
	}
	w.WriteString(`</wst:RequestSecurityToken>`)
	return w.finish(), nil
}

// RSTResponse is the RequestSecurityTokenResponseCollection that ends an
// enrollment ([MS-MDE2] 3.4.4.1.1.2): the provisioning document carrying
// the issued certificate and the management settings.
type RSTResponse struct {
	// TokenType is TokenTypeDeviceEnrollment when empty.
	TokenType string
	// DispositionMessage is normally empty.
	DispositionMessage string
	// ProvisioningDoc is the wap-provisioningdoc XML (see
	// Provisioning.Marshal), sent base64-encoded in a BinarySecurityToken
	// of ValueTypeProvisionDoc. Required.
	ProvisioningDoc []byte
	// RequestID is "0" when empty.
	RequestID string
}

// rstrcValidity is how long the response's u:Timestamp is valid.
const rstrcValidity = 5 * time.Minute

// EncodeRSTRC writes the RequestSecurityTokenResponseCollection relating
// to the request whose MessageID is relatesTo, with an ActivityId header
// when activityID is not empty, and a wsse:Security header holding a
// u:Timestamp created at now and expiring five minutes later. It fails
// when ProvisioningDoc is empty.
func EncodeRSTRC(relatesTo, activityID string, now time.Time, r *RSTResponse) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeRSTRC: nil response")
	}
	if len(r.ProvisioningDoc) == 0 {
		return nil, errors.New("wstep: EncodeRSTRC: empty provisioning document")
	}
	tokenType, requestID := r.TokenType, r.RequestID
	if tokenType == "" {
		tokenType = TokenTypeDeviceEnrollment
	}
	if requestID == "" {
		requestID = "0"
	}
	var w writer
	w.responseHeader(ActionRSTRC, relatesTo, activityID, func() {
		w.timestamp(&Timestamp{ID: "_0", Created: now, Expires: now.Add(rstrcValidity)})
	})
	w.WriteString(`<RequestSecurityTokenResponseCollection xmlns="` + NSTrust + `"><RequestSecurityTokenResponse>`)
	w.leaf("TokenType", tokenType)
	w.WriteString(`<DispositionMessage xmlns="` + NSEnrollment + `">`)
	w.text(r.DispositionMessage)
	w.WriteString(`</DispositionMessage><RequestedSecurityToken>`)
	w.binaryToken(&BinarySecurityToken{ValueType: ValueTypeProvisionDoc, EncodingType: EncodingBase64, Data: r.ProvisioningDoc})
	w.WriteString(`</RequestedSecurityToken><RequestID xmlns="` + NSEnrollment + `">`)
	w.text(requestID)
	w.WriteString(`</RequestID></RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection>`)
	return w.finish(), nil
}

type rstrcBody struct {
	Collection *struct {
		Responses []struct {
			TokenType          string `xml:"TokenType"`
			DispositionMessage string `xml:"DispositionMessage"`
			Requested          struct {
				Token *bstXML `xml:"BinarySecurityToken"`
			} `xml:"RequestedSecurityToken"`
			RequestID string `xml:"RequestID"`
		} `xml:"RequestSecurityTokenResponse"`
	} `xml:"http://docs.oasis-open.org/ws-sx/ws-trust/200512 RequestSecurityTokenResponseCollection"`
}

// DecodeRSTRC decodes a RequestSecurityTokenResponseCollection, as a client
// receives it, returning its first response. The provisioning document
// must be present and not empty. When the body is a SOAP fault, the error
// is the server's *Fault as DecodeFault returns it; other errors are
// *Fault with FaultMessageFormat.
func DecodeRSTRC(b []byte) (*RSTResponse, error) {
	env, err := decodeEnvelope[rstrcBody](b)
	if err != nil {
		return nil, err
	}
	c := env.Body.Collection
	if c == nil {
		return nil, bodyFault(b, "RequestSecurityTokenResponseCollection")
	}
	if len(c.Responses) == 0 {
		return nil, faultf(FaultMessageFormat, "the collection holds no RequestSecurityTokenResponse")
	}
	res := &c.Responses[0]
	if res.Requested.Token == nil {
		return nil, faultf(FaultMessageFormat, "the response has no RequestedSecurityToken")
	}
	tok, err := res.Requested.Token.token(FaultMessageFormat, "provisioning document")
	if err != nil {
		return nil, err
	}
	if len(tok.Data) == 0 {
		return nil, faultf(FaultMessageFormat, "the provisioning document is empty")
	}
	return &RSTResponse{
		TokenType:          strings.TrimSpace(res.TokenType),
		DispositionMessage: strings.TrimSpace(res.DispositionMessage),
		ProvisioningDoc:    tok.Data,
		RequestID:          strings.TrimSpace(res.RequestID),
	}, nil
}
