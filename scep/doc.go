// Package scep implements the Simple Certificate Enrollment Protocol,
// RFC 8894: a server that issues certificates to devices (Apple MDM
// profiles, Windows and Intune-style clients, routers, certmonger), and a
// client.
//
// # Flow
//
// A client asks GetCACaps for the server's capabilities and GetCACert for
// the certificate to encrypt to. It then sends a PKIOperation: a CMS
// SignedData, signed by a throw-away self-signed certificate (PKCSReq) or
// by its current certificate (RenewalReq), whose content is an
// EnvelopedData holding the PKCS #10 request. The server verifies the
// signature, decrypts, checks the challenge password (PKCSReq) or the
// signer certificate (RenewalReq: issued by this CA, recorded, not revoked,
// within the renewal window), asks the CSRSigner for a certificate, records
// it in the CertStore and answers a CertRep: a SignedData whose content is
// the certificate encrypted to the requester. The signer may instead
// answer ErrPending; the client then polls with CertPoll until the signer
// decides. GetCert and GetCRL fetch an issued certificate and the CA's
// revocation list; GetNextCACert serves a rollover CA.
//
// # Host interfaces
//
// New takes four things: an RA (the certificate and crypto.Signer and
// crypto.Decrypter keys the server presents, the CA itself or a
// registration authority), a CSRSigner (LocalCA is ready-made, with a
// template policy hook; CSRSignerFunc adapts a function), a
// ChallengeValidator (StaticChallenge, OneTimeChallenges backed by a
// ChallengeStore, and SignedChallenge, stateless and bound to the expected
// subject) and a CertStore (storage/memory, and storage/storagetest to
// check one's own). Optional: a CertStore that is also a PendingStore
// enables PENDING; a CSRSigner that is also a CRLIssuer enables GetCRL.
//
// # Errors on the wire
//
// Once the outer SignedData and its transactionID and senderNonce read,
// every failure is a signed CertRep FAILURE with a precise failInfo and a
// failInfoText: FailBadAlg for an unsupported digest, signature or cipher
// (including single DES unless Options.Legacy); FailBadMessageCheck for a
// signature or CSR self-signature that does not verify; FailBadTime for a
// signingTime outside Options.MaxClockSkew; FailBadCertID for a renewal
// signed by a certificate this CA did not issue, a poll for an unknown
// transaction or one made with another key, and GetCert or GetCRL for an
// unknown certificate or issuer; FailBadRequest for everything else (wrong,
// expired or replayed challenge, envelope for another recipient or that
// does not decrypt, malformed request, revoked or expired renewal
// certificate, renewal too early, unknown message type). Hosts choose the
// failInfo by returning an *Error. A message that does not read that far
// gets HTTP 400; an oversized body 413. Nothing is stored for a request
// that fails.
//
// # Algorithms
//
// Requests may use RSA PKCS #1 v1.5 or RSAES-OAEP key transport,
// AES-128/192/256-CBC or 3DES (single DES only with Options.Legacy), SHA-1
// to SHA-512, and RSA (PKCS #1 v1.5 or PSS), ECDSA or Ed25519 signer keys;
// signed attributes are verified exactly as received, so clients that sign
// them unsorted interoperate, and Windows signer certificates that
// crypto/x509 rejects (critical authority key identifier) still verify.
// The CertRep mirrors the request: the same digest, the same cipher (AES
// for AES requests, 3DES for 3DES requests, never single DES unless Legacy
// and the request used it) and the same key transport.
//
// # Concurrency
//
// Server, Client, LocalCA and the challenge validators are safe for
// concurrent use. The server keeps no state between requests beyond its
// stores, so replicas behind a load balancer share nothing but the stores.
//
// See Example for a server and client in a few lines.
package scep
