package wstep

import "fmt"

// FaultSubcode is the subcode of an MS-MDE2 SOAP fault ([MS-MDE2] 2.2.10).
// The device turns it into the HRESULT its user sees.
type FaultSubcode int

// Fault subcodes, each with the HRESULT Windows reports for it.
const (
	// FaultMessageFormat: the message is malformed. 0x80180001.
	FaultMessageFormat FaultSubcode = iota + 1
	// FaultAuthentication: the credential was not recognised. 0x80180002.
	FaultAuthentication
	// FaultAuthorization: the user may not enroll. 0x80180003.
	FaultAuthorization
	// FaultCertificateRequest: the certificate request was refused.
	// 0x80180004.
	FaultCertificateRequest
	// FaultEnrollmentServer: a generic server-side failure. 0x80180005.
	FaultEnrollmentServer
	// FaultInternalService: an unhandled server error (a:InternalServiceFault).
	// 0x80180006.
	FaultInternalService
	// FaultInvalidSecurity: the security header cannot be processed
	// (a:InvalidSecurity). 0x80180007.
	FaultInvalidSecurity
)

var faultNames = [...]string{
	FaultMessageFormat:      "s:MessageFormat",
	FaultAuthentication:     "s:Authentication",
	FaultAuthorization:      "s:Authorization",
	FaultCertificateRequest: "s:CertificateRequest",
	FaultEnrollmentServer:   "s:EnrollmentServer",
	FaultInternalService:    "a:InternalServiceFault",
	FaultInvalidSecurity:    "a:InvalidSecurity",
}

// String returns the subcode as it appears on the wire, with its prefix,
// or FaultSubcode(n) for a value this package does not define.
func (c FaultSubcode) String() string {
	if c > 0 && int(c) < len(faultNames) {
		return faultNames[c]
	}
	return fmt.Sprintf("FaultSubcode(%d)", int(c))
}

// HRESULT returns the error code Windows reports for the subcode, or
// 0x80180005 (the generic server error) for an unknown one.
func (c FaultSubcode) HRESULT() uint32 {
	if c > 0 && int(c) < len(faultNames) {
		return 0x80180000 + uint32(c)
	}
	return 0x80180005
}

// Error types of the fault detail ([MS-MDE2] 2.2.10, with the 2023
// errata). The device maps each to a more specific HRESULT and message.
const (
	ErrorDeviceCapReached      = "DeviceCapReached"      // 0x80180013: the user has too many devices
	ErrorDeviceNotSupported    = "DeviceNotSupported"    // 0x80180014: this platform or version is not supported
	ErrorNotSupported          = "NotSupported"          // 0x80180015: MDM is not supported
	ErrorNotEligibleToRenew    = "NotEligibleToRenew"    // 0x80180016: the certificate cannot be renewed
	ErrorInMaintenance         = "InMaintenance"         // 0x80180017: the server is in maintenance
	ErrorUserLicense           = "UserLicense"           // 0x80180018: the user has no licence
	ErrorInvalidEnrollmentData = "InvalidEnrollmentData" // 0x80180019: the enrollment data is invalid
	ErrorCustomServerError     = "CustomServerError"     // the Message is shown to the user
)

// Fault is an MS-MDE2 SOAP fault. Service code returns one (or wraps one)
// to choose what the device is told; the HTTP handlers find it with
// errors.As. Reason is sent to the device, so it must not carry internal
// detail.
type Fault struct {
	Subcode FaultSubcode
	// Reason is the s:Reason text; empty means a generic text for the
	// subcode.
	Reason string
	// ErrorType, when set, adds the s:Detail DeviceEnrollmentServiceError
	// with this ErrorType, Reason as its Message and TraceID.
	ErrorType string
	// TraceID is the detail's TraceId; empty means none.
	TraceID string
}

func (f *Fault) Error() string {
	if f.ErrorType != "" {
		return fmt.Sprintf("wstep: fault %v (%s): %s", f.Subcode, f.ErrorType, f.reason())
	}
	return fmt.Sprintf("wstep: fault %v: %s", f.Subcode, f.reason())
}

// reason returns Reason or the generic text for the subcode.
func (f *Fault) reason() string {
	if f.Reason != "" {
		return f.Reason
	}
	switch f.Subcode {
	case FaultMessageFormat:
		return "The message format is not valid."
	case FaultAuthentication:
		return "The credentials were not recognised."
	case FaultAuthorization:
		return "This user is not allowed to enroll."
	case FaultCertificateRequest:
		return "The certificate request was refused."
	case FaultInvalidSecurity:
		return "The security header is not valid."
	}
	return "The enrollment server could not process the request."
}

// faultf returns a Fault with a formatted reason.
func faultf(c FaultSubcode, format string, args ...any) *Fault {
	return &Fault{Subcode: c, Reason: fmt.Sprintf(format, args...)}
}
