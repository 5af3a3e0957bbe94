package cms

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// nest wraps inner in n SEQUENCEs, indefinite or definite.
func nest(n int, indefinite bool, inner []byte) []byte {
	if indefinite {
		out := bytes.Repeat([]byte{0x30, 0x80}, n)
		out = append(out, inner...)
		return append(out, make([]byte, 2*n)...)
	}
	out := inner
	for i := 0; i < n; i++ {
		out = appendTLV(nil, []byte{0x30}, out)
	}
	return out
}

func TestToDERConverts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"indefinite SEQUENCE", "30 80 02 01 05 00 00", "30 03 02 01 05"},
		{"indefinite empty SEQUENCE", "30 80 00 00", "30 00"},
		{"nested indefinite", "30 80 30 80 02 01 05 00 00 04 01 aa 00 00", "30 08 30 03 02 01 05 04 01 aa"},
		{"indefinite inside definite", "30 09 31 80 02 01 01 00 00 05 00", "30 07 31 03 02 01 01 05 00"},
		{"indefinite context-specific", "a0 80 02 01 07 00 00", "a0 03 02 01 07"},
		{"SET order kept", "31 80 02 01 09 02 01 01 00 00", "31 06 02 01 09 02 01 01"},
		{"constructed OCTET STRING", "24 80 04 02 aa bb 04 01 cc 00 00", "04 03 aa bb cc"},
		{"definite constructed OCTET STRING", "24 07 04 02 aa bb 04 01 cc", "04 03 aa bb cc"},
		{"nested constructed OCTET STRING", "24 80 24 80 04 01 aa 00 00 04 01 bb 00 00", "04 02 aa bb"},
		{"empty constructed OCTET STRING", "24 80 00 00", "04 00"},
		{"OCTET STRING inside SEQUENCE", "30 80 24 80 04 01 01 04 01 02 00 00 00 00", "30 04 04 02 01 02"},
		{"constructed BIT STRING", "23 80 03 02 00 aa 03 02 04 b0 00 00", "03 03 04 aa b0"},
		{"definite constructed BIT STRING", "23 08 03 02 00 aa 03 02 00 bb", "03 03 00 aa bb"},
		{"non-minimal long length", "30 81 03 02 01 05", "30 03 02 01 05"},
		{"non-minimal 4-octet length", "04 84 00 00 00 01 aa", "04 01 aa"},
		{"long form kept minimal", "04 82 00 81" + strings.Repeat("ab", 0x81), "04 81 81" + strings.Repeat("ab", 0x81)},
		{"high tag number kept", "bf 1f 80 02 01 01 00 00", "bf 1f 03 02 01 01"},
		{"context [0] segments are not flattened", "a0 80 04 01 aa 04 01 bb 00 00", "a0 06 04 01 aa 04 01 bb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToDER(mustHex(t, tt.in))
			if err != nil {
				t.Fatalf("ToDER: %v", err)
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("ToDER = % x, want % x", got, want)
			}
			again, err := ToDER(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("ToDER is not idempotent: % x, %v", again, err)
			}
		})
	}
}

func TestToDERKeepsDER(t *testing.T) {
	signer := rsaIdentity(t, 0)
	signed, err := Sign(&SignParams{Content: []byte("payload"), Signer: signer.cert, Key: signer.key, Certificates: [][]byte{signer.der}})
	if err != nil {
		t.Fatal(err)
	}
	enveloped, err := Encrypt(nil, bytes.Repeat([]byte("x"), 300), AES256CBC, RSAPKCS1v15, []*Certificate{signer.cert})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  []byte
	}{
		{"INTEGER", mustHex(t, "02 01 05")},
		{"empty SEQUENCE", mustHex(t, "30 00")},
		{"long form", append(mustHex(t, "04 82 01 00"), make([]byte, 256)...)},
		{"unsorted SET", mustHex(t, "31 06 02 01 09 02 01 01")},
		{"certificate", signer.der},
		{"signed data", signed},
		{"enveloped data", enveloped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToDER(tt.der)
			if err != nil {
				t.Fatalf("ToDER: %v", err)
			}
			if !bytes.Equal(got, tt.der) {
				t.Fatalf("DER input changed:\n got % x\nwant % x", got, tt.der)
			}
		})
	}
	t.Run("BER of a signed message", func(t *testing.T) {
		for _, chunk := range []int{1, 7, 64, 1000} {
			ber := toBER(t, signed, chunk)
			if bytes.Equal(ber, signed) {
				t.Fatal("toBER changed nothing")
			}
			got, err := ToDER(ber)
			if err != nil {
				t.Fatalf("chunk %d: ToDER: %v", chunk, err)
			}
			if !bytes.Equal(got, signed) {
				t.Fatalf("chunk %d: ToDER(BER) differs from the original DER", chunk)
			}
		}
	})
}

func TestToDERDepth(t *testing.T) {
	// A deep indefinite nest costs nothing to build and must be refused
	// without recursing through all of it.
	if _, err := ToDER(nest(1000000, true, nil)); !errors.Is(err, errBER) {
		t.Errorf("1000000 indefinite levels: err = %v, want errBER", err)
	}
	for _, indefinite := range []bool{false, true} {
		// The outermost element is depth 0, so maxBERDepth+1 levels fit.
		if _, err := ToDER(nest(maxBERDepth+1, indefinite, nil)); err != nil {
			t.Errorf("indefinite=%v: %d levels: %v", indefinite, maxBERDepth+1, err)
		}
		for _, n := range []int{maxBERDepth + 2, 1000} {
			_, err := ToDER(nest(n, indefinite, nil))
			if !errors.Is(err, errBER) || !strings.Contains(err.Error(), "deeper") {
				t.Errorf("indefinite=%v: %d levels: err = %v, want depth error", indefinite, n, err)
			}
		}
	}
}

func TestToDERErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string // substring of the error
	}{
		{"empty", nil, "truncated header"},
		{"one byte", []byte{0x30}, "truncated header"},
		{"truncated content", mustHex(t, "30 05 02 01"), "exceeds input"},
		{"truncated child", mustHex(t, "30 80 02 05 01 00 00"), "exceeds input"},
		{"length exceeds input", mustHex(t, "04 05 aa"), "exceeds input"},
		{"huge length", mustHex(t, "04 84 ff ff ff ff aa"), "exceeds input"},
		{"five length octets", mustHex(t, "04 85 00 00 00 00 01 aa"), "bad length"},
		{"truncated long length", mustHex(t, "04 82 01"), "bad length"},
		{"reserved length 0xff", mustHex(t, "04 ff"), "bad length"},
		{"missing end-of-contents", mustHex(t, "30 80 02 01 05"), "end-of-contents"},
		{"missing nested end-of-contents", mustHex(t, "30 80 30 80 02 01 05 00 00"), "end-of-contents"},
		{"half end-of-contents", mustHex(t, "30 80 02 01 05 00"), "truncated header"},
		{"indefinite primitive", mustHex(t, "04 80 aa 00 00"), "indefinite length on primitive"},
		{"indefinite primitive nested", mustHex(t, "30 80 02 80 01 00 00 00 00"), "indefinite length on primitive"},
		{"trailing bytes", mustHex(t, "30 00 00"), "trailing"},
		{"trailing element", mustHex(t, "02 01 05 02 01 06"), "trailing"},
		{"tag too long", mustHex(t, "1f 81 81 81 81 01 00"), "bad tag"},
		{"truncated tag", mustHex(t, "1f 81"), "bad tag"},
		{"missing length after long tag", mustHex(t, "1f 81 01"), "truncated length"},
		{"high tag form for a low number", mustHex(t, "3f 04 80 04 01 aa 00 00"), "non-minimal tag"},
		{"padded high tag", mustHex(t, "1f 80 21 00"), "non-minimal tag"},
		{"OCTET STRING segment of wrong type", mustHex(t, "24 80 02 01 05 00 00"), "bad segment"},
		{"OCTET STRING segment of wrong class", mustHex(t, "24 80 84 01 05 00 00"), "bad segment"},
		{"BIT STRING unused bits mid-string", mustHex(t, "23 80 03 02 04 a0 03 02 00 bb 00 00"), "unused bits"},
		{"empty BIT STRING segment", mustHex(t, "23 80 03 00 00 00"), "empty bit string"},
		{"BIT STRING with OCTET STRING segment", mustHex(t, "23 80 04 01 aa 00 00"), "bad segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToDER(tt.in)
			if err == nil {
				t.Fatalf("ToDER = % x, want error", got)
			}
			if !errors.Is(err, errBER) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want errBER containing %q", err, tt.want)
			}
			if got != nil {
				t.Fatalf("output % x returned with error", got)
			}
		})
	}
}

// TestToDERTruncationsAndFlips feeds every prefix and every single-byte
// corruption of a BER message through ToDER: nothing may panic, and
// whatever is accepted must come back as a fixed point.
func TestToDERTruncationsAndFlips(t *testing.T) {
	signer := rsaIdentity(t, 0)
	signed, err := Sign(&SignParams{Content: []byte("payload"), Signer: signer.cert, Key: signer.key, Certificates: [][]byte{signer.der}})
	if err != nil {
		t.Fatal(err)
	}
	ber := toBER(t, signed, 16)
	check := func(in []byte) {
		out, err := ToDER(in)
		if err != nil {
			return
		}
		again, err := ToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("output of ToDER(% x) is not a fixed point: %v", in, err)
		}
	}
	for i := range ber {
		if _, err := ToDER(ber[:i]); err == nil {
			t.Fatalf("prefix of %d of %d bytes accepted", i, len(ber))
		}
	}
	for i := 0; i < len(ber); i += 3 {
		for _, x := range []byte{0x01, 0x20, 0x80, 0xff} {
			mut := bytes.Clone(ber)
			mut[i] ^= x
			check(mut)
		}
	}
}
