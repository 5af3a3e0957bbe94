package wstep

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds on a decoded GetPoliciesResponse.
const (
	maxPolicies  = 64
	maxOIDs      = 256
	maxProviders = 64
)

// GetPoliciesRequest is the body of a GetPolicies request ([MS-XCEP]
// 3.1.4.1.1.1, [MS-MDE2] 3.3.4.1.1.1). Windows sends both client values
// as nil.
type GetPoliciesRequest struct {
	// Header carries the credential in Header.Security.
	Header Header
	// LastUpdate is the client's last policy update, zero when nil.
	LastUpdate time.Time
	// PreferredLanguage is the client's language, "" when nil.
	PreferredLanguage string
	// Raw is the envelope as received (it aliases the decoder's input);
	// encoders ignore it.
	Raw []byte
}

type getPoliciesBody struct {
	GetPolicies *struct {
		Client struct {
			LastUpdate        nillableXML `xml:"lastUpdate"`
			PreferredLanguage nillableXML `xml:"preferredLanguage"`
		} `xml:"client"`
	} `xml:"http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy GetPolicies"`
}

// DecodeGetPolicies decodes a GetPolicies request. Errors are *Fault:
// FaultMessageFormat for a malformed message, one over a limit, one with
// no GetPolicies body or a lastUpdate that is not a date and time;
// FaultInvalidSecurity for a malformed wsse:Security header.
func DecodeGetPolicies(b []byte) (*GetPoliciesRequest, error) {
	env, err := decodeEnvelope[getPoliciesBody](b)
	if err != nil {
		return nil, err
	}
	gp := env.Body.GetPolicies
	if gp == nil {
		return nil, faultf(FaultMessageFormat, "the body holds no GetPolicies element")
	}
	last, ok := parseTime(gp.Client.LastUpdate.value())
	if !ok {
		return nil, faultf(FaultMessageFormat, "lastUpdate is not a date and time")
	}
	h, err := env.Header.header()
	if err != nil {
		return nil, err
	}
	return &GetPoliciesRequest{
		Header:            h,
		LastUpdate:        last,
		PreferredLanguage: gp.Client.PreferredLanguage.value(),
		Raw:               b,
	}, nil
}

// EncodeGetPolicies writes a GetPolicies request, as a client sends it.
// The header's Action defaults to ActionGetPolicies.
func EncodeGetPolicies(r *GetPoliciesRequest) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeGetPolicies: nil request")
	}
	var w writer
	w.requestHeader(&r.Header, ActionGetPolicies)
	w.WriteString(`<GetPolicies xmlns="` + NSPolicy + `" xmlns:xsi="` + nsXSI + `"><client>`)
	if r.LastUpdate.IsZero() {
		w.nilLeaf("lastUpdate")
	} else {
		w.leaf("lastUpdate", r.LastUpdate.UTC().Format(time.RFC3339Nano))
	}
	if r.PreferredLanguage == "" {
		w.nilLeaf("preferredLanguage")
	} else {
		w.leaf("preferredLanguage", r.PreferredLanguage)
	}
	w.WriteString(`</client><requestFilter xsi:nil="true"/></GetPolicies>`)
	return w.finish(), nil
}

// PoliciesResponse is the body of a GetPoliciesResponse ([MS-XCEP]
// 3.1.4.1.1.2, [MS-MDE2] 3.3.4.1.1.2): the certificate policy the client
// follows when it builds its certificate request.
type PoliciesResponse struct {
	// PolicyID identifies the policy set.
	PolicyID string
	// PolicyFriendlyName is written as nil when empty.
	PolicyFriendlyName string
	// NextUpdateHours is written as nil when 0.
	NextUpdateHours int
	// Policies are the certificate enrollment policies; MS-MDE2 clients
	// use the first.
	Policies []Policy
	// OIDs are the object identifiers the policies reference.
	OIDs []OID
}

// Policy is one CertificateEnrollmentPolicy ([MS-XCEP] 3.1.4.1.3.7) with
// its Attributes. Elements MS-MDE2 does not use are written as nil.
type Policy struct {
	// OIDReference is the policyOIDReference; it must name an OID in
	// PoliciesResponse.OIDs.
	OIDReference int
	CommonName   string
	// PolicySchema must be 1 to 3; MS-MDE2 requires 3.
	PolicySchema int
	// Validity and Renewal are the certificateValidity periods, written in
	// whole seconds.
	Validity time.Duration
	Renewal  time.Duration
	// Enroll and AutoEnroll are the permission flags.
	Enroll, AutoEnroll bool
	// MinimalKeyLength is the smallest key size, in bits, the client may
	// generate.
	MinimalKeyLength int
	// KeySpec is written as nil when nil.
	KeySpec *int
	// AlgorithmOIDReference, when set, must name an OID in
	// PoliciesResponse.OIDs; it is written as nil when nil.
	AlgorithmOIDReference *int
	// CryptoProviders are written as cryptoProviders/provider elements,
	// or as nil when empty.
	CryptoProviders []string
	MajorRevision   int
	MinorRevision   int
	// HashAlgorithmOIDReference, when set, must name an OID in
	// PoliciesResponse.OIDs ([MS-MDE2] 3.3.4.1.1.2); it is written as nil
	// when nil.
	HashAlgorithmOIDReference *int
}

// OID is an object identifier a policy references ([MS-XCEP]
// 3.1.4.1.3.16).
type OID struct {
	// Value is the dotted OID, such as 2.16.840.1.101.3.4.2.1.
	Value string
	// Group is what the OID denotes, one of the OIDGroup constants.
	Group int
	// ReferenceID is the oIDReferenceID policies use to name it; it must
	// be unique in the response.
	ReferenceID int
	// DefaultName is written as nil when empty.
	DefaultName string
}

// OID groups ([MS-XCEP] 3.1.4.1.3.16).
const (
	OIDGroupHash       = 1 // hash algorithm
	OIDGroupEncryption = 2 // encryption algorithm
	OIDGroupPublicKey  = 3 // public key algorithm
	OIDGroupSigning    = 4 // signing algorithm
	OIDGroupRDN        = 5 // relative distinguished name
	OIDGroupExtension  = 6 // certificate extension or attribute
	OIDGroupEKU        = 7 // extended key usage
	OIDGroupPolicy     = 8 // certificate policy
	OIDGroupTemplate   = 9 // enrollment object (template)
)

// check validates a response for both the encoder and the client-side
// decoder.
func (r *PoliciesResponse) check() error {
	if r.NextUpdateHours < 0 {
		return errors.New("negative nextUpdateHours")
	}
	refs := make(map[int]bool, len(r.OIDs))
	for i, o := range r.OIDs {
		if o.Group < OIDGroupHash || o.Group > OIDGroupTemplate {
			return fmt.Errorf("OID %d: group %d is not 1 to 9", i, o.Group)
		}
		if refs[o.ReferenceID] {
			return fmt.Errorf("OID %d: oIDReferenceID %d is used twice", i, o.ReferenceID)
		}
		refs[o.ReferenceID] = true
	}
	for i := range r.Policies {
		p := &r.Policies[i]
		switch {
		case p.PolicySchema < 1 || p.PolicySchema > 3:
			return fmt.Errorf("policy %d: policySchema %d is not 1 to 3", i, p.PolicySchema)
		case !refs[p.OIDReference]:
			return fmt.Errorf("policy %d: policyOIDReference %d names no OID", i, p.OIDReference)
		case p.AlgorithmOIDReference != nil && !refs[*p.AlgorithmOIDReference]:
			return fmt.Errorf("policy %d: algorithmOIDReference %d names no OID", i, *p.AlgorithmOIDReference)
		case p.HashAlgorithmOIDReference != nil && !refs[*p.HashAlgorithmOIDReference]:
			return fmt.Errorf("policy %d: hashAlgorithmOIDReference %d names no OID", i, *p.HashAlgorithmOIDReference)
		case p.Validity < 0 || p.Renewal < 0:
			return fmt.Errorf("policy %d: negative certificate validity", i)
		case p.MinimalKeyLength < 0 || p.MajorRevision < 0 || p.MinorRevision < 0:
			return fmt.Errorf("policy %d: negative key length or revision", i)
		case p.KeySpec != nil && *p.KeySpec < 0:
			return fmt.Errorf("policy %d: negative keySpec", i)
		}
	}
	return nil
}

// EncodeGetPoliciesResponse writes a GetPoliciesResponse relating to the
// request whose MessageID is relatesTo, with an ActivityId header when
// activityID is not empty. Elements follow the MS-XCEP schema order, and
// elements without a value are written as xsi:nil. It fails when a policy
// references an OID that is not in OIDs, two OIDs share a ReferenceID, an
// OID group is not 1 to 9, PolicySchema is not 1 to 3, or a number is
// negative.
func EncodeGetPoliciesResponse(relatesTo, activityID string, r *PoliciesResponse) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeGetPoliciesResponse: nil response")
	}
	if err := r.check(); err != nil {
		return nil, errors.New("wstep: EncodeGetPoliciesResponse: " + err.Error())
	}
	var w writer
	w.responseHeader(ActionGetPoliciesResponse, relatesTo, activityID, nil)
	w.WriteString(`<GetPoliciesResponse xmlns="` + NSPolicy + `" xmlns:xsi="` + nsXSI + `"><response>`)
	w.leaf("policyID", r.PolicyID)
	w.optional("policyFriendlyName", r.PolicyFriendlyName)
	w.optionalInt("nextUpdateHours", r.NextUpdateHours, r.NextUpdateHours != 0)
	w.nilLeaf("policiesNotChanged")
	if len(r.Policies) == 0 {
		w.nilLeaf("policies")
	} else {
		w.WriteString(`<policies>`)
		for i := range r.Policies {
			w.policy(&r.Policies[i])
		}
		w.WriteString(`</policies>`)
	}
	w.WriteString(`</response>`)
	w.nilLeaf("cAs")
	if len(r.OIDs) == 0 {
		w.nilLeaf("oIDs")
	} else {
		w.WriteString(`<oIDs>`)
		for _, o := range r.OIDs {
			w.WriteString(`<oID>`)
			w.leaf("value", o.Value)
			w.leaf("group", strconv.Itoa(o.Group))
			w.leaf("oIDReferenceID", strconv.Itoa(o.ReferenceID))
			w.optional("defaultName", o.DefaultName)
			w.WriteString(`</oID>`)
		}
		w.WriteString(`</oIDs>`)
	}
	w.WriteString(`</GetPoliciesResponse>`)
	return w.finish(), nil
}

// policy writes one policy in the order of the CertificateEnrollmentPolicy
// and Attributes types.
func (w *writer) policy(p *Policy) {
	w.WriteString(`<policy>`)
	w.leaf("policyOIDReference", strconv.Itoa(p.OIDReference))
	w.nilLeaf("cAs")
	w.WriteString(`<attributes>`)
	w.leaf("commonName", p.CommonName)
	w.leaf("policySchema", strconv.Itoa(p.PolicySchema))
	w.WriteString(`<certificateValidity>`)
	w.leaf("validityPeriodSeconds", strconv.FormatInt(int64(p.Validity/time.Second), 10))
	w.leaf("renewalPeriodSeconds", strconv.FormatInt(int64(p.Renewal/time.Second), 10))
	w.WriteString(`</certificateValidity><permission>`)
	w.leaf("enroll", strconv.FormatBool(p.Enroll))
	w.leaf("autoEnroll", strconv.FormatBool(p.AutoEnroll))
	w.WriteString(`</permission><privateKeyAttributes>`)
	w.leaf("minimalKeyLength", strconv.Itoa(p.MinimalKeyLength))
	w.optionalRef("keySpec", p.KeySpec)
	w.nilLeaf("keyUsageProperty")
	w.nilLeaf("permissions")
	w.optionalRef("algorithmOIDReference", p.AlgorithmOIDReference)
	if len(p.CryptoProviders) == 0 {
		w.nilLeaf("cryptoProviders")
	} else {
		w.WriteString(`<cryptoProviders>`)
		for _, name := range p.CryptoProviders {
			w.leaf("provider", name)
		}
		w.WriteString(`</cryptoProviders>`)
	}
	w.WriteString(`</privateKeyAttributes><revision>`)
	w.leaf("majorRevision", strconv.Itoa(p.MajorRevision))
	w.leaf("minorRevision", strconv.Itoa(p.MinorRevision))
	w.WriteString(`</revision>`)
	w.nilLeaf("supersededPolicies")
	w.nilLeaf("privateKeyFlags")
	w.nilLeaf("subjectNameFlags")
	w.nilLeaf("enrollmentFlags")
	w.nilLeaf("generalFlags")
	w.optionalRef("hashAlgorithmOIDReference", p.HashAlgorithmOIDReference)
	w.nilLeaf("rARequirements")
	w.nilLeaf("keyArchivalAttributes")
	w.nilLeaf("extensions")
	w.WriteString(`</attributes></policy>`)
}

func (w *writer) optional(name, value string) {
	if value == "" {
		w.nilLeaf(name)
		return
	}
	w.leaf(name, value)
}

func (w *writer) optionalInt(name string, v int, ok bool) {
	if !ok {
		w.nilLeaf(name)
		return
	}
	w.leaf(name, strconv.Itoa(v))
}

func (w *writer) optionalRef(name string, v *int) {
	if v == nil {
		w.nilLeaf(name)
		return
	}
	w.leaf(name, strconv.Itoa(*v))
}

type policiesResponseBody struct {
	Response *struct {
		Response struct {
			PolicyID           string      `xml:"policyID"`
			PolicyFriendlyName nillableXML `xml:"policyFriendlyName"`
			NextUpdateHours    nillableXML `xml:"nextUpdateHours"`
			Policies           struct {
				Policy []policyXML `xml:"policy"`
			} `xml:"policies"`
		} `xml:"response"`
		OIDs struct {
			OID []struct {
				Value          string      `xml:"value"`
				Group          string      `xml:"group"`
				OIDReferenceID string      `xml:"oIDReferenceID"`
				DefaultName    nillableXML `xml:"defaultName"`
			} `xml:"oID"`
		} `xml:"oIDs"`
	} `xml:"http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy GetPoliciesResponse"`
}

type policyXML struct {
	OIDReference string `xml:"policyOIDReference"`
	Attributes   struct {
		CommonName   string `xml:"commonName"`
		PolicySchema string `xml:"policySchema"`
		Validity     struct {
			Validity string `xml:"validityPeriodSeconds"`
			Renewal  string `xml:"renewalPeriodSeconds"`
		} `xml:"certificateValidity"`
		Permission struct {
			Enroll     string `xml:"enroll"`
			AutoEnroll string `xml:"autoEnroll"`
		} `xml:"permission"`
		PrivateKey struct {
			MinimalKeyLength      string      `xml:"minimalKeyLength"`
			KeySpec               nillableXML `xml:"keySpec"`
			AlgorithmOIDReference nillableXML `xml:"algorithmOIDReference"`
			CryptoProviders       struct {
				Provider []string `xml:"provider"`
			} `xml:"cryptoProviders"`
		} `xml:"privateKeyAttributes"`
		Revision struct {
			Major string      `xml:"majorRevision"`
			Minor nillableXML `xml:"minorRevision"`
		} `xml:"revision"`
		HashAlgorithmOIDReference nillableXML `xml:"hashAlgorithmOIDReference"`
	} `xml:"attributes"`
}

// numbers parses the numeric fields of a decoded response, remembering the
// first failure.
type numbers struct{ err error }

// int parses a required or optional (allowEmpty) integer.
func (n *numbers) int(what, s string, allowEmpty bool) int {
	s = strings.TrimSpace(s)
	if s == "" && allowEmpty {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil && n.err == nil {
		n.err = fmt.Errorf("%s is not an integer", what)
	}
	return v
}

func (n *numbers) ref(what string, e *nillableXML) *int {
	s := e.value()
	if s == "" {
		return nil
	}
	v := n.int(what, s, false)
	return &v
}

func (n *numbers) seconds(what, s string) time.Duration {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if (err != nil || v < 0 || v > math.MaxInt64/int64(time.Second)) && n.err == nil {
		n.err = fmt.Errorf("%s is not a number of seconds", what)
	}
	return time.Duration(v) * time.Second
}

func (n *numbers) bool(what, s string) bool {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil && n.err == nil {
		n.err = fmt.Errorf("%s is not a boolean", what)
	}
	return v
}

// DecodeGetPoliciesResponse decodes a GetPoliciesResponse, as a client
// receives it. It requires what EncodeGetPoliciesResponse requires. When
// the body is a SOAP fault, the error is the server's *Fault as
// DecodeFault returns it; other errors are *Fault with FaultMessageFormat.
func DecodeGetPoliciesResponse(b []byte) (*PoliciesResponse, error) {
	env, err := decodeEnvelope[policiesResponseBody](b)
	if err != nil {
		return nil, err
	}
	body := env.Body.Response
	if body == nil {
		return nil, bodyFault(b, "GetPoliciesResponse")
	}
	res := &body.Response
	if len(res.Policies.Policy) > maxPolicies || len(body.OIDs.OID) > maxOIDs {
		return nil, faultf(FaultMessageFormat, "the response has more than %d policies or %d OIDs", maxPolicies, maxOIDs)
	}
	var n numbers
	out := &PoliciesResponse{
		PolicyID:           strings.TrimSpace(res.PolicyID),
		PolicyFriendlyName: res.PolicyFriendlyName.value(),
		NextUpdateHours:    n.int("nextUpdateHours", res.NextUpdateHours.value(), true),
	}
	for i := range res.Policies.Policy {
		px := &res.Policies.Policy[i]
		a := &px.Attributes
		if len(a.PrivateKey.CryptoProviders.Provider) > maxProviders {
			return nil, faultf(FaultMessageFormat, "a policy lists more than %d crypto providers", maxProviders)
		}
		p := Policy{
			OIDReference:              n.int("policyOIDReference", px.OIDReference, false),
			CommonName:                strings.TrimSpace(a.CommonName),
			PolicySchema:              n.int("policySchema", a.PolicySchema, false),
			Validity:                  n.seconds("validityPeriodSeconds", a.Validity.Validity),
			Renewal:                   n.seconds("renewalPeriodSeconds", a.Validity.Renewal),
			Enroll:                    n.bool("enroll", a.Permission.Enroll),
			AutoEnroll:                n.bool("autoEnroll", a.Permission.AutoEnroll),
			MinimalKeyLength:          n.int("minimalKeyLength", a.PrivateKey.MinimalKeyLength, false),
			KeySpec:                   n.ref("keySpec", &a.PrivateKey.KeySpec),
			AlgorithmOIDReference:     n.ref("algorithmOIDReference", &a.PrivateKey.AlgorithmOIDReference),
			MajorRevision:             n.int("majorRevision", a.Revision.Major, false),
			MinorRevision:             n.int("minorRevision", a.Revision.Minor.value(), true),
			HashAlgorithmOIDReference: n.ref("hashAlgorithmOIDReference", &a.HashAlgorithmOIDReference),
		}
		for _, name := range a.PrivateKey.CryptoProviders.Provider {
			p.CryptoProviders = append(p.CryptoProviders, strings.TrimSpace(name))
		}
		out.Policies = append(out.Policies, p)
	}
	for _, o := range body.OIDs.OID {
		out.OIDs = append(out.OIDs, OID{
			Value:       strings.TrimSpace(o.Value),
			Group:       n.int("group", o.Group, false),
			ReferenceID: n.int("oIDReferenceID", o.OIDReferenceID, false),
			DefaultName: o.DefaultName.value(),
		})
	}
	if n.err != nil {
		return nil, faultf(FaultMessageFormat, "the GetPoliciesResponse is malformed: %v", n.err)
	}
	if err := out.check(); err != nil {
		return nil, faultf(FaultMessageFormat, "the GetPoliciesResponse is not usable: %v", err)
	}
	return out, nil
}
