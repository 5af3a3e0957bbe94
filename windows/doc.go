// Package windows is the server side of Windows MDM enrollment: discovery
// ([MS-MDE2] 3.1), the certificate policy service ([MS-XCEP] as profiled by
// [MS-MDE2] 3.3) and the enrollment service ([MS-WSTEP] as profiled by
// [MS-MDE2] 3.4, renewal 3.5). The wire formats live in package wstep;
// this package decides what to answer.
//
// # Flow
//
// A Windows PC (Settings > Accounts > Access work or school, or an agent
// calling the enrollment API) first sends GET to the discovery URL and
// expects 200, then POSTs Discover. The answer names the authentication
// policy and the URLs of the two other services. The device then POSTs
// GetPolicies to learn the key length and hash to use, and
// RequestSecurityToken with a PKCS#10 request and its AdditionalContext
// (DeviceID, HWDevID, EnrollmentType, OSVersion, ...). The Service checks
// the credential, the request and the context, has the CertSigner issue a
// client certificate, stores the Enrollment, and answers with a
// provisioning document: the root certificate (Root/System), the client
// certificate (My/User, or My/System for EnrollmentType Device), the w7
// APPLICATION pointing at Options.ManagementURL, and the DMClient provider
// with its poll schedule. Before the certificate expires the device renews
// it (RequestType Renew), signing the new request with the old key;
// nothing else authenticates a renewal.
//
// # What the host provides
//
//   - An EnrollmentStore (storage/memory, storage/sqlite and
//     storage/postgres implement it; storage/storagetest checks others).
//   - A CertSigner: LocalCA signs with any crypto.Signer.
//   - At least one authenticator: UsernameAuthenticator for OnPremise,
//     TokenAuthenticator for Federated (a token from the
//     AuthenticationServiceUrl or a device agent), CertificateAuthenticator
//     for Certificate. StaticUser, StaticToken and PoolAuthenticator cover
//     the simple cases.
//   - Optional hooks: ChoosePolicy, Authorize (for example a per-user
//     device cap), AllowReenroll, OnEnrolled.
//
// # Errors
//
// Every refusal is an MS-MDE2 SOAP fault (a *wstep.Fault), sent with HTTP
// 500 as SOAP 1.2 does for s:Receiver faults; nothing a device sends
// reaches storage before it is checked, and a refused request changes
// nothing. Hooks return a *wstep.Fault to choose the fault; an
// authenticator returns ErrUnauthenticated for a wrong credential. Other
// errors become a:InternalServiceFault and a log line; their text never
// reaches the device.
//
// # Handlers
//
// DiscoveryHandler, PolicyHandler and EnrollHandler are plain
// http.Handlers the host mounts at the URLs it advertises in Options. They
// cap bodies (Options.MaxBodySize), check the method and media type, and
// write responses with a Content-Length, never chunked. The Service's
// Discover, Policies and Enroll methods run without HTTP, for tests.
//
// See ExampleNew.
package windows
