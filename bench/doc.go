// Package bench compares the cost of a SCEP PKIOperation (RFC 8894 section
// 3.3.1, a PKCSReq answered with a CertRep SUCCESS) in mdmkit's scep.Server
// with the same operation in micromdm's SCEP server
// (github.com/micromdm/scep/v2/server, on top of github.com/smallstep/scep).
//
// It is a separate module so that micromdm and its dependencies never enter
// mdmkit's own go.mod; nothing in mdmkit imports it.
//
// Both servers get identical inputs: one RSA-2048 CA key and self-signed CA
// certificate (acting as its own RA), one RSA-2048 client key and CSR, the
// static challenge "secret", and the same request bytes (AES-128-CBC
// envelope, SHA-256 signature), built once with mdmkit's scep.Client and
// replayed. Each server issues with its usual in-process signer: mdmkit's
// scep.LocalCA recording into storage/memory, and micromdm's depot.Signer
// behind its StaticChallengeMiddleware, over an in-memory depot defined in
// the test (micromdm ships only file and BoltDB depots, whose disk I/O would
// dominate). Requests go straight to each server's http.Handler through
// httptest.NewRecorder, with no network.
//
// A successful PKIOperation costs three RSA private-key operations
// (decrypt the content-encryption key, sign the certificate, sign the
// CertRep) in either server, so the difference between them is everything
// else: parsing, BER handling, verification, encryption of the reply and
// allocation.
//
// Run the comparison with
//
//	cd bench && go test -run '^$' -bench . -benchtime 3s -count 3
//
// and check the setup (both servers answer the shared request with a CertRep
// SUCCESS) with
//
//	cd bench && go test ./...
package bench
