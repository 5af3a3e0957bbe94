package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

var testLimits = Limits{MaxBytes: 4096, MaxDepth: 8, MaxTokens: 200, MaxAttrs: 4}

func nested(n int) string {
	return strings.Repeat("<e>", n) + strings.Repeat("</e>", n)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error // nil, ErrSyntax or ErrLimit
	}{
		{"minimal", `<a/>`, nil},
		{"declaration and whitespace", "<?xml version=\"1.0\"?>\r\n <a x=\"1\"><b>t</b></a>\n", nil},
		{"namespaces", `<s:E xmlns:s="urn:x" xmlns="urn:y"><s:B><c/></s:B></s:E>`, nil},
		{"comment and cdata", `<!-- c --><a><![CDATA[<x>]]><!-- in --></a>`, nil},
		{"spaces around equals", `<a n = "v"/>`, nil},
		{"utf-8 declaration", `<?xml version="1.0" encoding="utf-8"?><a/>`, nil},
		{"depth at limit", nested(8), nil},
		{"attributes at limit", `<a a="1" b="2" c="3" d="4"/>`, nil},

		{"empty", ``, ErrSyntax},
		{"only whitespace", " \n ", ErrSyntax},
		{"not xml", `hello`, ErrSyntax},
		{"text before root", `x<a/>`, ErrSyntax},
		{"text after root", `<a/>x`, ErrSyntax},
		{"two roots", `<a/><b/>`, ErrSyntax},
		{"unclosed", `<a><b></b>`, ErrSyntax},
		{"mismatched end", `<a><b></a></b>`, ErrSyntax},
		{"prefix mismatch", `<x:a xmlns:x="u"></y:a>`, ErrSyntax},
		{"stray end", `<a/></a>`, ErrSyntax},
		{"doctype", `<!DOCTYPE a><a/>`, ErrSyntax},
		{"entity declaration", `<!DOCTYPE a [<!ENTITY x "yyyy">]><a>&x;</a>`, ErrSyntax},
		{"unknown entity", `<a>&x;</a>`, ErrSyntax},
		{"attribute without value", `<a b/>`, ErrSyntax},
		{"unquoted attribute", `<a b=c/>`, ErrSyntax},
		{"duplicate attribute", `<a b="1" b="2"/>`, ErrSyntax},
		{"invalid utf-8", "<a>\xff</a>", ErrSyntax},
		{"control character", "<a>\x01</a>", ErrSyntax},
		{"utf-16 declaration", `<?xml version="1.0" encoding="utf-16"?><a/>`, ErrSyntax},
		{"malformed attribute name", `<a><b xsi:nil="true"/><c d:e:f="1"/><algorithmOIDReferencexsi:nil="true"/></a>`, ErrSyntax},

		{"too deep", nested(9), ErrLimit},
		{"too many attributes", `<a a="1" b="2" c="3" d="4" e="5"/>`, ErrLimit},
		{"too many tokens", "<a>" + strings.Repeat("<b/>", 100) + "</a>", ErrLimit},
		{"too large", "<a>" + strings.Repeat("x", 4096) + "</a>", ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), testLimits)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Check = %v, want an error wrapping %v", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "xmlsafe: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

func TestCheckZeroLimits(t *testing.T) {
	big := "<a>" + strings.Repeat(`<b c="1" d="2" e="3" f="4" g="5"/>`, 500) + nested(100) + "</a>"
	if err := Check([]byte(big), Limits{}); err != nil {
		t.Fatalf("Check with zero limits = %v, want nil", err)
	}
	if err := Check([]byte(`<!DOCTYPE a><a/>`), Limits{}); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Check with zero limits accepted a DOCTYPE: %v", err)
	}
}

// TestCheckNoEcho makes sure the error text does not quote the document,
// which callers may show to the sender.
func TestCheckNoEcho(t *testing.T) {
	for _, in := range []string{
		`<secretname></othersecret>`,
		`<a secretattr/>`,
		`<a>&secretentity;</a>`,
	} {
		err := Check([]byte(in), testLimits)
		if err == nil {
			t.Fatalf("Check(%q) = nil, want an error", in)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Check(%q) = %q, which quotes the document", in, err)
		}
	}
}

func TestCheckAllocations(t *testing.T) {
	doc := []byte("<a>" + strings.Repeat(`<b c="1">text</b>`, 40) + "</a>")
	allocs := testing.AllocsPerRun(20, func() {
		if err := Check(doc, testLimits); err != nil {
			t.Fatal(err)
		}
	})
	// The decoder itself allocates per token; what matters is that Check
	// adds nothing proportional to the document beyond that.
	if allocs > 600 {
		t.Errorf("Check allocates %v times for a small document", allocs)
	}
}

// FuzzCheck asserts that Check never panics, and that whatever it accepts
// encoding/xml reads to the end with matching elements and within the
// limits.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<a><b x="1">t</b></a>`, `<!DOCTYPE a><a/>`, `<a></b>`, nested(9),
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`,
		`<?xml version="1.0"?><a><![CDATA[x]]><!--c--></a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b, testLimits) != nil {
			return
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		depth, maxDepth, tokens := 0, 0, 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Check accepted a document encoding/xml rejects: %v", err)
			}
			tokens++
			switch tok := tok.(type) {
			case xml.StartElement:
				depth++
				maxDepth = max(maxDepth, depth)
				if len(tok.Attr) > testLimits.MaxAttrs {
					t.Fatalf("Check accepted %d attributes", len(tok.Attr))
				}
			case xml.EndElement:
				depth--
			case xml.Directive:
				t.Fatal("Check accepted a directive")
			}
		}
		if depth != 0 || maxDepth == 0 || maxDepth > testLimits.MaxDepth || tokens > testLimits.MaxTokens {
			t.Fatalf("Check accepted depth %d (end %d), %d tokens", maxDepth, depth, tokens)
		}
	})
}
