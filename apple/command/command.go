package command

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// Command is one command ready to queue.
type Command struct {
	// UUID is the CommandUUID; the device's result carries it back.
	UUID string
	// RequestType is the value of Command.RequestType, for example
	// "DeviceInformation".
	RequestType string
	// Raw is the complete property list sent to the device.
	Raw []byte
}

// Payload is the dictionary of one command, without RequestType: a struct
// with `plist` field tags (or a map) whose RequestType method names it.
// Every command type of this package is a Payload; a host may declare its
// own for a command this package lacks.
type Payload interface {
	// RequestType returns the command's RequestType. It must not be empty.
	RequestType() string
}

// Validator is implemented by a Payload that can check itself. New calls
// Validate before encoding; a non-nil result fails the build and should
// match ErrInvalid.
type Validator interface {
	Validate() error
}

// Options tune how New, Raw and Named build a command. A nil *Options is
// the zero value.
type Options struct {
	// UUID is the CommandUUID of the new command. Empty means a random
	// version 4 UUID in upper case, as Apple's tools write them. Raw uses
	// it only for a plist that has no CommandUUID.
	UUID string
	// Rand is the randomness for a generated UUID. Nil means crypto/rand.
	Rand io.Reader
}

// ErrInvalid is matched (errors.Is) by every error about a command that
// cannot be built: a missing or malformed field, JSON arguments that do
// not fit, or a raw plist of the wrong shape.
var ErrInvalid = errors.New("command: invalid command")

// ErrUnknownCommand is matched by the error of Named for a RequestType it
// does not know. That error also matches ErrInvalid.
var ErrUnknownCommand = errors.New("command: unknown request type")

// invalidError is an ErrInvalid with its own message, so the text says
// what is wrong without repeating the sentinel.
type invalidError struct {
	msg  string
	kind error // an extra sentinel it matches, or nil
	err  error // the cause, or nil
}

func (e *invalidError) Error() string { return "command: " + e.msg }

func (e *invalidError) Unwrap() error { return e.err }

func (e *invalidError) Is(target error) bool {
	return target == ErrInvalid || (e.kind != nil && target == e.kind)
}

// invalidf returns an ErrInvalid with a formatted message.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// invalidWrap returns an ErrInvalid that wraps cause.
func invalidWrap(cause error, format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...) + ": " + cause.Error(), err: cause}
}

// Bounds of the decode New does of its own encoding (see encodePayload).
// The depth leaves room below the depth devices accept for a command.
const maxPayloadDepth = 64

// New checks p, encodes it with RequestType and a CommandUUID, and returns
// the command. Errors from validation or from a payload that does not
// encode as a dictionary match ErrInvalid.
func New(p Payload, opts *Options) (*Command, error) {
	// A nil pointer would panic in a value-receiver RequestType.
	if v := reflect.ValueOf(p); p == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, invalidf("nil payload")
	}
	rt := p.RequestType()
	if rt == "" {
		return nil, invalidf("%T has an empty RequestType", p)
	}
	if v, ok := p.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	body, err := encodePayload(rt, p)
	if err != nil {
		return nil, err
	}
	uuid, err := commandUUID(opts)
	if err != nil {
		return nil, err
	}
	return marshalCommand(uuid, rt, body)
}

// encodePayload turns p into the command dictionary with RequestType set.
// The plist codec cannot add a key to an arbitrary struct, so p goes
// through an encode-decode round trip into a map; every property-list type
// survives it unchanged.
func encodePayload(rt string, p Payload) (map[string]any, error) {
	b, err := plist.Marshal(p)
	if err != nil {
		return nil, invalidWrap(err, "encode %s", rt)
	}
	// The input is our own encoding, so its size bounds the counts.
	lim := plist.Limits{MaxDepth: maxPayloadDepth, MaxValues: len(b) + 1, MaxValueBytes: len(b) + 1}
	var m map[string]any
	if err := plist.UnmarshalLimits(b, &m, lim); err != nil {
		return nil, invalidWrap(err, "encode %s as a dictionary", rt)
	}
	if m == nil {
		m = map[string]any{}
	}
	if v, ok := m["RequestType"]; ok && v != rt {
		return nil, invalidf("%s payload sets RequestType to %v", rt, v)
	}
	m["RequestType"] = rt
	return m, nil
}

// marshalCommand writes the outer dictionary.
func marshalCommand(uuid, rt string, body map[string]any) (*Command, error) {
	raw, err := plist.Marshal(map[string]any{
		"CommandUUID": uuid,
		"Command":     body,
	})
	if err != nil {
		return nil, invalidWrap(err, "encode %s", rt)
	}
	return &Command{UUID: uuid, RequestType: rt, Raw: raw}, nil
}

// commandUUID returns opts.UUID or a new random UUID.
func commandUUID(opts *Options) (string, error) {
	var r io.Reader = rand.Reader
	if opts != nil {
		if opts.UUID != "" {
			return opts.UUID, nil
		}
		if opts.Rand != nil {
			r = opts.Rand
		}
	}
	return newUUID(r)
}

// newUUID reads a version 4 (random) UUID from r, in upper case.
func newUUID(r io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return "", fmt.Errorf("command: generate CommandUUID: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out), nil
}
