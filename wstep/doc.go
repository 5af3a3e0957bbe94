// Package wstep encodes and decodes the SOAP messages of Windows MDM
// enrollment: discovery, certificate enrollment policy and certificate
// enrollment, as Windows' enrollment client exchanges them with an MDM
// service.
//
// # Specifications
//
//   - [MS-MDE2] Mobile Device Enrollment Protocol Version 2: 3.1
//     (discovery), 3.3 (policy), 3.4 (enrollment), 3.5 (renewal), 2.2.9
//     (the provisioning document) and 2.2.10 (SOAP faults).
//   - [MS-XCEP] X.509 Certificate Enrollment Policy Protocol, 3.1.4.1
//     (GetPolicies).
//   - [MS-WSTEP] WS-Trust X.509v3 Token Enrollment Extensions, 3.1.4.1
//     (RequestSecurityToken).
//
// # Message flow
//
// The device first probes the discovery URL with an HTTP GET, which the
// service answers with 200 and an empty body. It then POSTs a Discover
// (DecodeDiscover) and learns from the DiscoverResponse
// (EncodeDiscoverResponse) how to authenticate (OnPremise, Federated or
// Certificate) and where the policy and enrollment services are. It asks
// the policy service for the certificate policy with GetPolicies
// (DecodeGetPolicies, EncodeGetPoliciesResponse), builds a key and a
// PKCS#10 request to match, and sends it to the enrollment service in a
// RequestSecurityToken (DecodeRST) together with an AdditionalContext
// describing itself (Context). The RequestSecurityTokenResponseCollection
// (EncodeRSTRC) carries the provisioning document that installs the
// issued certificate, the CA certificate and the management settings.
// Before the certificate expires the device renews it with another
// RequestSecurityToken whose RequestType is RequestTypeRenew, whose token
// is a PKCS#7 (ValueTypePKCS7), and which it authenticates with the
// certificate being renewed. Policy and enrollment requests carry their
// credential in Header.Security.
//
// The client side of every message (EncodeDiscover, EncodeGetPolicies,
// EncodeRST, DecodeDiscoverResponse, DecodeGetPoliciesResponse,
// DecodeRSTRC, IsFault, DecodeFault) is here too, for test clients.
//
// # Codec
//
// The package is a pure codec: bytes in, values out, no network, no
// storage, no logging. Decoders are liberal: they match namespaces rather
// than prefixes, trim the whitespace and line breaks the MS-MDE2 examples
// put around values, ignore elements they do not know, keep unknown
// RequestVersion and AuthPolicy values, and keep the AdditionalContext in
// order with its duplicates. They are also bounded: a message is checked
// for size (4 MiB), depth (32), tokens (20 000), attributes per element
// (64) and DOCTYPE or entity declarations before it is decoded, and the
// AdditionalContext (512 items, 64 KiB per value) and tokens (1 MiB of
// base64) have limits of their own. Encoders are strict: SOAP 1.2 with
// the fixed prefixes s, a, u and wsse declared on the envelope, no XML
// declaration, no indentation and no whitespace inside values; responses
// relate to the request's MessageID exactly as sent and follow the schema
// element order.
//
// Every decoder's error is a *Fault whose subcode is what the device should
// be told: FaultMessageFormat for a malformed message or one over a limit,
// FaultInvalidSecurity for a malformed wsse:Security header. EncodeFault
// writes it. The reason of such a Fault never quotes the refused input.
// The response decoders return the server's own fault when they are given
// one.
//
// Certificate requests and provisioning documents have their own functions:
// ParseCSR reads the PKCS#10 requests Windows really sends (a
// PrintableString subject with '!' and a trailing NUL, signed with the OIW
// SHA-1 OID), which crypto/x509 refuses; ParseRenewal reads a renewal's
// PKCS#7; Provisioning.Marshal builds a validated wap-provisioningdoc; and
// VerifyCertificateAuth checks the signed timestamp of certificate
// authentication.
//
// # Concurrency
//
// The package has no state: every function is safe for concurrent use.
//
// See the Example functions for a discovery exchange, a policy response,
// an enrollment request and response, and a fault.
package wstep
