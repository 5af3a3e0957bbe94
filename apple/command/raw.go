package command

import (
	"bytes"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// MaxRawSize is the largest plist Raw accepts, in bytes: room for an
// InstallProfile of the largest value the decode allows, base64-encoded.
const MaxRawSize = 32 << 20

// rawLimits bound the decode of a host-supplied command.
func rawLimits() plist.Limits {
	return plist.Limits{MaxDepth: maxPayloadDepth + 2, MaxValues: 200000, MaxValueBytes: 16 << 20}
}

// Raw passes a complete command plist through: {CommandUUID, Command:
// {RequestType, ...}}, XML or binary. It checks that shape within bounds
// (size, depth, count) and nothing else, so it accepts commands this
// package has no type for.
//
// An XML plist that has a CommandUUID is returned unchanged (a copy). One
// without a CommandUUID (or with an empty one) gets opts.UUID or a random
// one; it, and every binary plist, is then re-encoded as XML with the same
// values. Errors match ErrInvalid.
func Raw(data []byte, opts *Options) (*Command, error) {
	if len(data) > MaxRawSize {
		return nil, invalidf("raw command is %d bytes, more than %d", len(data), MaxRawSize)
	}
	var top map[string]any
	if err := plist.UnmarshalLimits(data, &top, rawLimits()); err != nil {
		return nil, invalidWrap(err, "raw command")
	}
	if top == nil {
		return nil, invalidf("raw command is not a dictionary")
	}
	body, ok := top["Command"].(map[string]any)
	if !ok {
		return nil, invalidf("raw command has no Command dictionary")
	}
	rt, ok := body["RequestType"].(string)
	if !ok || rt == "" {
		return nil, invalidf("raw command has no Command.RequestType string")
	}
	uuid := ""
	switch v := top["CommandUUID"].(type) {
	case nil:
	case string:
		uuid = v
	default:
		return nil, invalidf("raw command's CommandUUID is not a string")
	}
	for k := range top {
		if k != "Command" && k != "CommandUUID" {
			return nil, invalidf("raw command has an unexpected top-level key %q", k)
		}
	}
	if uuid != "" && !bytes.HasPrefix(data, []byte("bplist")) {
		return &Command{UUID: uuid, RequestType: rt, Raw: bytes.Clone(data)}, nil
	}
	if uuid == "" {
		var err error
		if uuid, err = commandUUID(opts); err != nil {
			return nil, err
		}
	}
	return marshalCommand(uuid, rt, body)
}
