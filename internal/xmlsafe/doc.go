// Package xmlsafe checks that an XML document is well formed and within
// size limits before a decoder unmarshals it.
//
// encoding/xml has no limit on nesting, element count or attribute count
// of its own beyond very large internal ones, and it silently skips
// DOCTYPE declarations. Check is the bound in front of it: a decoder of
// device input calls Check first and unmarshals only when it passes, so
// the work done on a hostile document is proportional to limits the caller
// chose. The walk uses encoding/xml in strict mode and keeps only a stack
// of open element names, so it allocates little.
//
// The wstep decoders use it (see wstep's doc for their limits); the
// SyncML codec is meant to use it as well.
package xmlsafe
