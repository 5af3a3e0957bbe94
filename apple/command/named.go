package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Names returns the RequestTypes Named can build, sorted.
func Names() []string {
	return []string{
		"AvailableOSUpdates",
		"CertificateList",
		"ClearPasscode",
		"DeclarativeManagement",
		"DeviceInformation",
		"DeviceLock",
		"EraseDevice",
		"InstallApplication",
		"InstallEnterpriseApplication",
		"InstallProfile",
		"InstalledApplicationList",
		"ProfileList",
		"RemoveProfile",
		"RestartDevice",
		"ScheduleOSUpdate",
		"SecurityInfo",
		"Settings",
		"ShutDownDevice",
	}
}

// newPayload returns a new zero payload for a RequestType, as a pointer
// JSON can decode into.
func newPayload(requestType string) Payload {
	switch requestType {
	case "AvailableOSUpdates":
		return &AvailableOSUpdates{}
	case "CertificateList":
		return &CertificateList{}
	case "ClearPasscode":
		return &ClearPasscode{}
	case "DeclarativeManagement":
		return &DeclarativeManagement{}
	case "DeviceInformation":
		return &DeviceInformation{}
	case "DeviceLock":
		return &DeviceLock{}
	case "EraseDevice":
		return &EraseDevice{}
	case "InstallApplication":
		return &InstallApplication{}
	case "InstallEnterpriseApplication":
		return &InstallEnterpriseApplication{}
	case "InstallProfile":
		return &InstallProfile{}
	case "InstalledApplicationList":
		return &InstalledApplicationList{}
	case "ProfileList":
		return &ProfileList{}
	case "RemoveProfile":
		return &RemoveProfile{}
	case "RestartDevice":
		return &RestartDevice{}
	case "ScheduleOSUpdate":
		return &ScheduleOSUpdate{}
	case "SecurityInfo":
		return &SecurityInfo{}
	case "Settings":
		return &Settings{}
	case "ShutDownDevice":
		return &ShutDownDevice{}
	}
	return nil
}

// Named builds the command named by requestType from a JSON object whose
// keys are the command's plist keys, for example
//
//	Named("RemoveProfile", []byte(`{"Identifier": "com.example.wifi"}`), nil)
//
// <data> values are base64 strings, as encoding/json writes []byte. Empty
// args, or null, mean no arguments. Keys match case-insensitively, as in
// encoding/json; a key the command does not have, a value of the wrong
// type, or anything after the object is an error. The caller bounds the
// size of args. Errors match ErrInvalid; an unknown requestType also
// matches ErrUnknownCommand.
func Named(requestType string, args []byte, opts *Options) (*Command, error) {
	p := newPayload(requestType)
	if p == nil {
		return nil, &invalidError{msg: "unknown request type " + quote(requestType), kind: ErrUnknownCommand}
	}
	if len(bytes.TrimSpace(args)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(args))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, invalidWrap(err, "%s arguments", requestType)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, invalidf("%s arguments: data after the JSON object", requestType)
		}
	}
	return New(p, opts)
}

// quote quotes s for an error message, cutting it short: names come from
// API callers and end up in logs.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
