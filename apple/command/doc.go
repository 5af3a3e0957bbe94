// Package command builds Apple MDM commands and decodes the results of the
// query commands, as described in Apple's Device Management documentation
// ("Commands and Queries", and the reference page of each command).
//
// # Flow
//
// A server answers a device's command-endpoint request with one command: a
// property list {CommandUUID, Command: {RequestType, ...}}. The device runs
// it and reports in its next request: a property list with the same
// CommandUUID, a Status (Acknowledged, Error, CommandFormatError, NotNow)
// and, for a query, the answer (QueryResponses, ProfileList, ...). This
// package makes the first and reads the second; queueing, delivery and
// storage belong to package apple.
//
// # Building
//
// Each command is a struct named after its RequestType (DeviceInformation,
// InstallProfile, EraseDevice, ...) whose fields are the keys of the
// command dictionary. New checks it (the types with required or
// constrained fields implement Validator), encodes it and returns a
// Command: the CommandUUID, the RequestType and the complete XML property
// list, ready to queue. Options.UUID chooses the CommandUUID; otherwise New
// makes a random (version 4) UUID from Options.Rand, crypto/rand by
// default. A host adds a command this package lacks by declaring its own
// struct with `plist` field tags and a RequestType method, or passes a
// complete plist through Raw, which checks its shape and adds a
// CommandUUID when it has none.
//
// Named builds a command from its RequestType and JSON arguments whose keys
// are the command's plist keys, for an admin API; Names lists the types it
// knows. Dict holds free-form dictionaries (app configurations, manifests,
// Settings items); from JSON, integral numbers become <integer>.
//
// # Decoding results
//
// DecodeReport reads the keys every result carries (Report). The query
// decoders (DecodeDeviceInformation, DecodeSecurityInfo, DecodeProfileList,
// DecodeCertificateList, DecodeInstalledApplicationList,
// DecodeAvailableOSUpdates) add the answer with the common keys typed and,
// for the two information queries, every key the device sent in All. A
// value of an unexpected type is left out of its typed field rather than
// failing the decode, because devices and OS versions differ. Every decode
// is bounded (size, depth, value count, value size) and fails with an
// error wrapping the module's internal plist.ErrSyntax or plist.ErrLimit;
// none panics.
//
// # Errors
//
// Error strings start with "command:". A command that cannot be built
// (missing or malformed field, bad JSON, malformed raw plist) fails with
// an error that matches ErrInvalid; an unknown name given to Named also
// matches ErrUnknownCommand. An admin API answers both with 400.
//
// # Concurrency
//
// The package keeps no state; every function is safe for concurrent use.
// Options.Rand must be safe for concurrent use if shared.
//
// See Example for building DeviceInformation and InstallProfile and
// decoding a DeviceInformation result, ExampleNamed and ExampleRaw.
package command
