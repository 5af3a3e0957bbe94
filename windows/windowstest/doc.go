// Package windowstest is a simulated Windows PC for tests of Windows
// enrollment: it sends what Windows sends ([MS-MDE2]: the discovery GET
// probe, Discover, GetPolicies, RequestSecurityToken with a certificate
// request shaped like Windows' own, renewal with a PKCS#7 signed by the
// current certificate) to real HTTP handlers, and checks and installs the
// provisioning document the way a device depends on it (Install).
//
// A host uses it to test its own wiring (authenticators, hooks, storage)
// end to end, without a Windows machine:
//
//	dev := &windowstest.Device{Client: client, Username: "user@example.com", Password: "secret"}
//	res, err := dev.Enroll(ctx, "https://mdm.example.com/EnrollmentServer/Discovery.svc")
//
// A server's fault comes back as a *FaultError wrapping the *wstep.Fault.
package windowstest
