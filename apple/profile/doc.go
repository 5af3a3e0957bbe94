// Package profile builds Apple configuration profiles (.mobileconfig
// files) and signs them: above all the MDM enrollment profile, and any
// other profile a server sends with the InstallProfile command.
//
// It follows Apple's Device Management documentation for the profile
// formats: the top-level Configuration dictionary (TopLevel), the keys
// common to every payload (CommonPayloadKeys), and the SCEP
// (com.apple.security.scep), MDM (com.apple.mdm) and certificate
// (com.apple.security.root, com.apple.security.pkcs1) payloads. Signing is
// CMS SignedData (RFC 5652) with the profile as attached id-data content.
//
// # Flow
//
// A host fills an Enrollment (the SCEP URL, the MDM ServerURL and the
// push Topic are required) and calls NewEnrollment. The profile holds, in
// order, any CA certificates the host names, a SCEP payload that makes the
// device request its identity certificate, and an MDM payload whose
// IdentityCertificateUUID is that SCEP payload's UUID; defaults are the
// ones an MDM server wants (SignMessage true, AccessRights AccessAll,
// 2048-bit keys for signing and encryption). The host then calls Sign with
// its TLS or profile-signing certificate and chain, and serves the result
// as application/x-apple-aspen-config. Enrollment.Configuration returns the
// profile unencoded, for a host that adds payloads; Configuration and
// Payload build any other profile, and Sign signs it for InstallProfile.
// Verify checks a signed profile against a root pool and returns its
// content.
//
// Every builder validates before it writes and reports a problem as an
// error that starts with "profile:"; none of them changes its input.
// Payload UUIDs come from Enrollment.Rand (crypto/rand by default) and the
// signing time from SignOptions.Now, so output is reproducible in tests.
// Sign takes the key as a crypto.Signer, so HSM and KMS keys work.
//
// # Concurrency
//
// The package keeps no state; every function is safe for concurrent use,
// provided the caller does not change an Enrollment or Configuration
// while a call reads it.
//
// See Example for an enrollment profile built and signed end to end.
package profile
