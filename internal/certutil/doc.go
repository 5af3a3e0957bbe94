// Package certutil holds the small certificate-issuing helpers the local
// CAs of scep and windows share.
package certutil
