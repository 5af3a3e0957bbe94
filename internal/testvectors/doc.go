// Package testvectors finds the real device captures tests read. They
// live outside the repository (their licences differ), in the directory
// named by the environment variable MDMKIT_VECTORS, which CI sets.
//
// Without the variable a test that needs them is skipped with a message,
// except under CI=true, where it fails: CI must never pass by skipping the
// tests that hold the code to real devices.
package testvectors
