package wstep

import "strings"

// ContextItem is one ac:ContextItem of an enrollment request's
// AdditionalContext: a name and its value, both trimmed of surrounding
// whitespace.
type ContextItem struct {
	Name  string
	Value string
}

// Context is the AdditionalContext of a RequestSecurityToken
// ([MS-MDE2] 3.4.4.1.1.1): an ordered multimap kept in the order the
// device sent it, duplicates included (Windows sends one MAC item per
// network adapter). Names are compared case-insensitively. Items Windows
// sends include UXInitiated, HWDevID, Locale, TargetedUserLoggedIn,
// OSEdition, DeviceName, MAC, DeviceID, EnrollmentType (Full or Device),
// DeviceType, OSVersion, ApplicationVersion, NotInOobe, Manufacturer,
// DeviceModel, SerialNumber, RequestVersion and, on newer builds,
// attestation items; unknown items are kept.
type Context []ContextItem

// Get returns the value of the first item with the name, or "" when there
// is none.
func (c Context) Get(name string) string {
	for _, it := range c {
		if strings.EqualFold(it.Name, name) {
			return it.Value
		}
	}
	return ""
}

// Values returns the values of every item with the name, in order, or nil
// when there is none.
func (c Context) Values(name string) []string {
	var out []string
	for _, it := range c {
		if strings.EqualFold(it.Name, name) {
			out = append(out, it.Value)
		}
	}
	return out
}

// Has reports whether an item with the name is present, even with an
// empty value.
func (c Context) Has(name string) bool {
	for _, it := range c {
		if strings.EqualFold(it.Name, name) {
			return true
		}
	}
	return false
}
