package wstep

// XML namespaces of the enrollment messages. Responses bind them to the
// fixed prefixes in the comments.
const (
	NSEnvelope      = "http://www.w3.org/2003/05/soap-envelope"                                            // s
	NSAddressing    = "http://www.w3.org/2005/08/addressing"                                               // a
	NSUtility       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" // u
	NSSecExt        = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"  // wsse
	NSTrust         = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"                                   // wst
	NSAuthorization = "http://schemas.xmlsoap.org/ws/2006/12/authorization"                                // ac
	NSEnrollment    = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
	NSPolicy        = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
	NSDiscovery     = "http://schemas.microsoft.com/windows/management/2012/01/enrollment"
	NSDSig          = "http://www.w3.org/2000/09/xmldsig#" // ds
)

// SOAP actions ([MS-MDE2] 3.1.4.1.1, 3.3.4.1.1, 3.4.4.1.1).
const (
	ActionDiscover            = NSDiscovery + "/IDiscoveryService/Discover"
	ActionDiscoverResponse    = NSDiscovery + "/IDiscoveryService/DiscoverResponse"
	ActionGetPolicies         = NSPolicy + "/IPolicy/GetPolicies"
	ActionGetPoliciesResponse = NSPolicy + "/IPolicy/GetPoliciesResponse"
	ActionRST                 = NSEnrollment + "/RST/wstep"
	ActionRSTRC               = NSEnrollment + "/RSTRC/wstep"
)

// BinarySecurityToken value and encoding types, token and request types.
const (
	// ValueTypePKCS10 marks a new enrollment's certificate request.
	ValueTypePKCS10 = NSEnrollment + "#PKCS10"
	// ValueTypePKCS7 marks a renewal: a PKCS#10 inside CMS SignedData
	// signed with the key of the certificate being renewed.
	ValueTypePKCS7 = NSEnrollment + "#PKCS7"
	// ValueTypeUserToken marks a Federated security token in the header.
	ValueTypeUserToken = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken"
	// ValueTypeJWT marks an Entra ID (Azure AD) access token in the header.
	ValueTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
	// ValueTypeX509v3 marks an X.509 certificate in the header
	// (certificate authentication).
	ValueTypeX509v3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	// ValueTypeProvisionDoc marks the wap-provisioningdoc in the response.
	ValueTypeProvisionDoc = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc"
	// EncodingBase64 is the only BinarySecurityToken encoding MS-MDE2 uses.
	EncodingBase64 = NSSecExt + "#base64binary"
	// TokenTypeDeviceEnrollment is the wst:TokenType of enrollment requests
	// and responses.
	TokenTypeDeviceEnrollment = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken"
	// RequestTypeIssue asks for a new certificate.
	RequestTypeIssue = NSTrust + "/Issue"
	// RequestTypeRenew asks to renew the certificate that authenticates
	// the request.
	RequestTypeRenew = NSTrust + "/Renew"
	// PasswordText is the UsernameToken password type MS-MDE2 uses.
	PasswordText = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

// AuthPolicy is how a device authenticates to the policy and enrollment
// services ([MS-MDE2] 3.1.4.1.1.2). Unknown values are kept as sent.
type AuthPolicy string

// Authentication policies.
const (
	// AuthOnPremise: a WS-Security UsernameToken (user name and password).
	AuthOnPremise AuthPolicy = "OnPremise"
	// AuthFederated: a security token from the AuthenticationServiceUrl
	// (or a device agent), in a BinarySecurityToken.
	AuthFederated AuthPolicy = "Federated"
	// AuthCertificate: an X.509 certificate and an XML signature over the
	// header timestamp.
	AuthCertificate AuthPolicy = "Certificate"
)
