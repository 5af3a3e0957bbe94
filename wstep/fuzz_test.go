package wstep

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Each decoder of device (or server) input has a fuzz target. The property
// checked: decoding never panics, fails only with a *Fault, and whatever
// decodes encodes again into a message that decodes to the same values
// (after the defaults and rounding the encoder applies). Seeds are the
// golden files, and the vectors when MDMKIT_VECTORS is set.

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if dir := os.Getenv("MDMKIT_VECTORS"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "windows", "mde2-spec", "*.xml"))
		paths = append(paths, more...)
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(msDocsFault))
	f.Add(envelope(usernameXML, getPoliciesBodyXML))
	f.Add(rstXML(usernameXML, bstXMLOK+contextXML("MAC", "a", "MAC", " b ", "DeviceID", "d")))
}

// decodeFailure checks that a decoder's error is a *Fault.
func decodeFailure(t *testing.T, err error) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("decoder returned %T %v, want a *Fault", err, err)
	}
}

// reencoded reports whether a re-encoded message is within the size the
// decoders accept. Escaping can make a message grow (a tab becomes
// "&#x9;"), so a near-limit input may legitimately not come back.
func reencoded(b []byte) bool { return len(b) <= maxBytes }

// normalizeHeader applies what the encoders do to a decoded header.
func normalizeHeader(h *Header, action string) {
	if h.Action == "" {
		h.Action = action
	}
	s := h.Security
	if s == nil {
		return
	}
	s.HasSignature = false // encoders cannot sign
	if s.BinaryToken != nil && s.BinaryToken.EncodingType == "" {
		s.BinaryToken.EncodingType = EncodingBase64
	}
	if t := s.Timestamp; t != nil {
		t.Created = t.Created.Truncate(time.Millisecond)
		t.Expires = t.Expires.Truncate(time.Millisecond)
	}
}

func FuzzDecodeDiscover(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeDiscover(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		out, err := EncodeDiscover(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeDiscover(out)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, out)
		}
		r.Raw, again.Raw = nil, nil
		normalizeHeader(&r.Header, ActionDiscover)
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the request:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodeGetPolicies(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeGetPolicies(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		out, err := EncodeGetPolicies(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeGetPolicies(out)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, out)
		}
		r.Raw, again.Raw = nil, nil
		normalizeHeader(&r.Header, ActionGetPolicies)
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the request:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodeRST(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRST(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		if len(r.Token.Data) == 0 || len(r.Context) > maxContextItems {
			t.Fatalf("decoded an empty token or %d context items", len(r.Context))
		}
		out, err := EncodeRST(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeRST(out)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, out)
		}
		r.Raw, again.Raw = nil, nil
		normalizeHeader(&r.Header, ActionRST)
		if r.TokenType == "" {
			r.TokenType = TokenTypeDeviceEnrollment
		}
		if r.RequestType == "" {
			r.RequestType = RequestTypeIssue
		}
		if r.Token.ValueType == "" {
			r.Token.ValueType = ValueTypePKCS10
		}
		if r.Token.EncodingType == "" {
			r.Token.EncodingType = EncodingBase64
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the request:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodeFault(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		isFault := IsFault(b)
		fault, err := DecodeFault(b)
		if err != nil {
			decodeFailure(t, err)
			if isFault {
				t.Fatalf("IsFault is true but DecodeFault fails: %v", err)
			}
			return
		}
		if fault.Subcode < FaultMessageFormat || fault.Subcode > FaultInvalidSecurity {
			t.Fatalf("decoded subcode %v", fault.Subcode)
		}
		out, err := EncodeFault("", "", "", fault)
		if err != nil {
			t.Fatalf("decoded fault does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		if !IsFault(out) {
			t.Fatalf("IsFault is false for an encoded fault:\n%s", out)
		}
		again, err := DecodeFault(out)
		if err != nil {
			t.Fatalf("re-encoded fault does not decode: %v\n%s", err, out)
		}
		fault.Reason = fault.reason()
		if fault.ErrorType == "" {
			fault.TraceID = "" // the detail is written only with an ErrorType
		}
		if !reflect.DeepEqual(fault, again) {
			t.Fatalf("round trip changed the fault:\nfirst  %+v\nsecond %+v", fault, again)
		}
	})
}

func FuzzDecodeDiscoverResponse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeDiscoverResponse(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		out, err := EncodeDiscoverResponse("", "", r)
		if err != nil {
			t.Fatalf("decoded response does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeDiscoverResponse(out)
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the response:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodeGetPoliciesResponse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeGetPoliciesResponse(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		out, err := EncodeGetPoliciesResponse("", "", r)
		if err != nil {
			t.Fatalf("decoded response does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeGetPoliciesResponse(out)
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the response:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodeRSTRC(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRSTRC(b)
		if err != nil {
			decodeFailure(t, err)
			return
		}
		out, err := EncodeRSTRC("", "", testNow, r)
		if err != nil {
			t.Fatalf("decoded response does not encode: %v", err)
		}
		if !reencoded(out) {
			return
		}
		again, err := DecodeRSTRC(out)
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v\n%s", err, out)
		}
		if r.TokenType == "" {
			r.TokenType = TokenTypeDeviceEnrollment
		}
		if r.RequestID == "" {
			r.RequestID = "0"
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the response:\nfirst  %+v\nsecond %+v", r, again)
		}
	})
}

// TestFuzzSeedsDecode makes sure the seeds reach past the envelope checks,
// so the fuzz targets start from messages each decoder accepts.
func TestFuzzSeedsDecode(t *testing.T) {
	accepted := map[string]bool{}
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		var derr error
		var kind string
		switch {
		case strings.HasPrefix(name, "fault-"):
			kind, derr = "fault", decodeErr(DecodeFault(b))
		case strings.HasPrefix(name, "discover-request"):
			kind, derr = "discover request", decodeErr(DecodeDiscover(b))
		case strings.HasPrefix(name, "discover-response"):
			kind, derr = "discover response", decodeErr(DecodeDiscoverResponse(b))
		case strings.HasPrefix(name, "getpolicies-request"):
			kind, derr = "policies request", decodeErr(DecodeGetPolicies(b))
		case strings.HasPrefix(name, "getpolicies-response"):
			kind, derr = "policies response", decodeErr(DecodeGetPoliciesResponse(b))
		case strings.HasPrefix(name, "rst-request"):
			kind, derr = "rst", decodeErr(DecodeRST(b))
		case strings.HasPrefix(name, "rstrc"):
			kind, derr = "rstrc", decodeErr(DecodeRSTRC(b))
		case strings.HasPrefix(name, "provisioning"):
			_, perr := ParseProvisioningDoc(b)
			kind, derr = "provisioning document", perr
		default:
			t.Errorf("golden file %s has no decoder", name)
			continue
		}
		if derr != nil {
			t.Errorf("%s: %v", name, derr)
		}
		accepted[kind] = true
	}
	for _, kind := range []string{"fault", "discover request", "discover response", "policies request", "policies response", "rst", "rstrc", "provisioning document"} {
		if !accepted[kind] {
			t.Errorf("no golden file for %s", kind)
		}
	}
}

func decodeErr[T any](_ T, err error) error { return err }
