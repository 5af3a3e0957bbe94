package command

// ProfileList asks for the installed configuration profiles;
// DecodeProfileList reads the answer. Any channel.
type ProfileList struct {
	// ManagedOnly limits the list to profiles MDM installed (iOS 13,
	// macOS 10.15 and later).
	ManagedOnly bool `plist:"ManagedOnly,omitempty" json:"ManagedOnly,omitempty"`
}

// RequestType returns "ProfileList".
func (ProfileList) RequestType() string { return "ProfileList" }

// InstallProfile installs a configuration profile. Any channel.
type InstallProfile struct {
	// Payload is the .mobileconfig as it is to reach the device: plain,
	// signed, or encrypted to an identity on the device. Required.
	Payload []byte `plist:"Payload" json:"Payload,omitempty"`
}

// RequestType returns "InstallProfile".
func (InstallProfile) RequestType() string { return "InstallProfile" }

// Validate requires a Payload.
func (c InstallProfile) Validate() error {
	if len(c.Payload) == 0 {
		return invalidf("InstallProfile needs a Payload")
	}
	return nil
}

// RemoveProfile removes an installed profile. Any channel.
type RemoveProfile struct {
	// Identifier is the profile's PayloadIdentifier. Required.
	Identifier string `plist:"Identifier" json:"Identifier,omitempty"`
}

// RequestType returns "RemoveProfile".
func (RemoveProfile) RequestType() string { return "RemoveProfile" }

// Validate requires an Identifier.
func (c RemoveProfile) Validate() error {
	if c.Identifier == "" {
		return invalidf("RemoveProfile needs an Identifier")
	}
	return nil
}

// CertificateList asks for the installed certificates;
// DecodeCertificateList reads the answer.
type CertificateList struct {
	// ManagedOnly limits the list to certificates MDM installed or that
	// came with the MDM profile (iOS 13, macOS 10.15 and later).
	ManagedOnly bool `plist:"ManagedOnly,omitempty" json:"ManagedOnly,omitempty"`
}

// RequestType returns "CertificateList".
func (CertificateList) RequestType() string { return "CertificateList" }
