// Package appletest simulates an Apple device (a Mac) for tests, so a host
// can drive its own MDM flows through its real HTTP handlers: SCEP
// enrollment, the check-in messages and the command loop of Apple's Device
// Management protocol ("Check-in", "Commands and Queries").
//
// # Flow
//
// New makes a device with a UDID, a serial number and a push token.
// InstallProfile reads an enrollment profile (as apple/profile builds it,
// signed or not): its SCEP payload gets the device an identity
// certificate through scep.Client (GetCACert, then a PKCSReq with the
// challenge), and its MDM payload tells where to check in. The device then
// sends Authenticate and TokenUpdate, signing every message into the
// Mdm-Signature header (a detached CMS signature by its identity) unless
// the payload's SignMessage is false; with Options.UseTLSIdentity it also
// presents the identity as a TLS client certificate. EnrollSCEP,
// Authenticate and TokenUpdate do the same steps one at a time, and
// CheckOut, SetBootstrapToken, GetBootstrapToken, DeclarativeManagement
// and GetToken send the other check-in messages. Non-2xx answers are
// *HTTPError.
//
// The host enqueues commands with apple.Queue and a Pusher from this
// package, which records the pushes (and with AutoPoll wakes the device).
// Poll is what a device does when woken: it reports Idle, runs each command
// the server sends and reports its result, until the server has nothing
// more. Commands get plausible results: DeviceInformation answers its
// Queries from the device's facts, SecurityInfo, ProfileList,
// CertificateList, InstalledApplicationList and AvailableOSUpdates answer
// from the device's state, InstallProfile and RemoveProfile change it,
// DeviceLock (with a PIN), RestartDevice, ShutDownDevice, ClearPasscode,
// ScheduleOSUpdate, Settings, DeviceConfigured and DeclarativeManagement
// are acknowledged, and EraseDevice is acknowledged and erases the device,
// which from then on answers nothing (ErrErased). Other commands are
// answered Error, and a command that is not a command dictionary
// CommandFormatError. Handle replaces the answer to a command type, and
// NotNow answers NotNow on demand, so a host can test its retries.
//
// User returns the channel of a macOS user: it enrolls with
// UserAuthenticate and its own TokenUpdate, and has its own push token,
// queue and Poll.
//
// Identity and UseIdentity let a test make one device present another's
// certificate, to check that the server refuses it.
//
// # Concurrency
//
// Device, UserChannel and Pusher are safe for concurrent use. One Poll
// runs at a time per channel; a second waits for the first, as on a real
// device. Command handlers run without locks held.
//
// See Example for a host's test: a server, a device enrolling, a command
// enqueued, pushed, run, and its result checked.
package appletest
