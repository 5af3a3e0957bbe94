// Package cms is a small, self-contained implementation of the parts of
// Cryptographic Message Syntax (RFC 5652) that device-management protocols
// need: SignedData (parse, verify, sign, degenerate certificates-only) and
// EnvelopedData with key transport recipients (parse, decrypt, encrypt).
//
// It exists, rather than a dependency, because SCEP interoperability needs
// behaviour the common Go PKCS#7 libraries do not offer without mutating
// package-level state:
//
//   - signatures are verified over the signed attributes exactly as received,
//     so clients that sign an unsorted SET OF still verify;
//   - signer certificates are parsed tolerantly (a Windows signer with a
//     critical authority key identifier, a negative serial) without switching
//     any global parser mode;
//   - the content cipher and digest are chosen per call (AES-128/192/256-CBC,
//     3DES, and DES only when the caller allows it);
//   - RSA key transport accepts PKCS #1 v1.5 and RSAES-OAEP, and keys are
//     crypto.Signer and crypto.Decrypter so HSM and KMS keys work;
//   - input is bounded: BER is normalised to DER with a depth limit, and the
//     CBC padding check cannot index out of range.
//
// Errors that a protocol maps to a specific wire failure are typed:
// ErrUnsupportedAlgorithm (an algorithm this package does not implement or
// the caller did not allow), ErrVerification (a signature or digest
// mismatch), ErrNoRecipient and ErrDecrypt. Everything else is a malformed
// message. The package has no global state and never logs.
package cms
