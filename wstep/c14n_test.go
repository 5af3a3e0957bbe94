package wstep

import (
	"errors"
	"strings"
	"testing"
)

// findElement returns the first element named local in document order.
func findElement(n *xnode, local string) *xnode {
	if n.kind == kindElement && n.local == local {
		return n
	}
	for _, c := range n.children {
		if f := findElement(c, local); f != nil {
			return f
		}
	}
	return nil
}

// The expected forms below were derived by hand from the Exclusive XML
// Canonicalization 1.0 and Canonical XML 1.0 rules.
func TestCanonicalize(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		apex      string // local name of the subtree's root; "" for the document element
		inclusive []string
		want      string
	}{
		{"empty element", `<e/>`, "", nil, `<e></e>`},
		{"whitespace in tags", "<e   a = \"1\"\n  b='2'  ></e  >", "", nil, `<e a="1" b="2"></e>`},
		{"xml declaration and outer comments dropped", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!--a--><e/><!--b-->\n", "", nil, `<e></e>`},
		{"used ancestor prefix rendered, unused not", `<r xmlns:p="urn:p" xmlns:q="urn:q" xmlns:z="urn:z"><p:e q:a="1" b="2"/></r>`, "e", nil,
			`<p:e xmlns:p="urn:p" xmlns:q="urn:q" b="2" q:a="1"></p:e>`},
		{"declaration not repeated below its output ancestor", `<p:a xmlns:p="urn:p"><p:b xmlns:p="urn:p"><p:c/></p:b></p:a>`, "", nil,
			`<p:a xmlns:p="urn:p"><p:b><p:c></p:c></p:b></p:a>`},
		{"redeclared prefix", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/><p:c/></p:a>`, "", nil,
			`<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"></p:b><p:c></p:c></p:a>`},
		{"siblings each declare", `<r xmlns:p="urn:p"><x><p:a/><p:b/></x></r>`, "x", nil,
			`<x><p:a xmlns:p="urn:p"></p:a><p:b xmlns:p="urn:p"></p:b></x>`},
		{"declared but unused on the apex", `<x xmlns:p="urn:p"><p:a/></x>`, "", nil, `<x><p:a xmlns:p="urn:p"></p:a></x>`},
		{"default namespace", `<r xmlns="urn:d"><e><f/></e></r>`, "e", nil, `<e xmlns="urn:d"><f></f></e>`},
		{"xmlns empty below a default", `<a xmlns="urn:x"><b xmlns=""><c/></b></a>`, "", nil, `<a xmlns="urn:x"><b xmlns=""><c></c></b></a>`},
		{"xmlns empty at the apex", `<a xmlns="urn:x"><b xmlns=""><c/></b></a>`, "b", nil, `<b><c></c></b>`},
		{"default not rendered for a prefixed element", `<r xmlns="urn:d" xmlns:p="urn:p"><p:e/></r>`, "e", nil, `<p:e xmlns:p="urn:p"></p:e>`},
		{"namespaces sorted, attributes by URI then name", `<e xmlns:b="urn:b" xmlns:a="urn:a" b:x="1" a:y="2" z="3" a:a="4"/>`, "", nil,
			`<e xmlns:a="urn:a" xmlns:b="urn:b" z="3" a:a="4" a:y="2" b:x="1"></e>`},
		{"attributes sorted by URI, not prefix", `<e xmlns:z="urn:a" xmlns:a="urn:z" a:k="1" z:k="2"/>`, "", nil,
			`<e xmlns:a="urn:z" xmlns:z="urn:a" z:k="2" a:k="1"></e>`},
		{"xml attributes kept, not inherited", `<r xml:lang="en"><e xml:space="preserve" xmlns:u="http://u" u:a="1"><f/></e></r>`, "e", nil,
			`<e xmlns:u="http://u" u:a="1" xml:space="preserve"><f></f></e>`},
		{"text escaping", "<e>a &amp; b &lt; c &gt; d \" ' &#xD; &#x9; &#xA; \r\n ]</e>", "", nil,
			"<e>a &amp; b &lt; c &gt; d \" ' &#xD; \t \n \n ]</e>"},
		{"attribute escaping", `<e a="&quot;&apos;&lt;&gt;&amp;&#x9;&#xA;&#xD; x"/>`, "", nil, `<e a="&quot;'&lt;>&amp;&#x9;&#xA;&#xD; x"></e>`},
		{"attribute whitespace normalization", "<e a=\"a\tb\nc\r\nd\re\"/>", "", nil, `<e a="a b c d e"></e>`},
		{"comments dropped, PIs kept", "<e><!--x-->t<?p  d\r\n?><?q?><!--y--></e>", "", nil, "<e>t<?p d\n?><?q?></e>"},
		{"CDATA", `<e><![CDATA[<&>]]]]><![CDATA[>]]></e>`, "", nil, `<e>&lt;&amp;&gt;]]&gt;</e>`},
		{"UTF-8 kept", `<e a="é&#233;">ü&#x1F600;</e>`, "", nil, "<e a=\"éé\">ü\U0001F600</e>"},
		{"PrefixList renders in-scope prefixes", `<r xmlns:p="urn:p" xmlns="urn:d" xmlns:q="urn:q"><e xmlns:p2="urn:p2"><f/></e></r>`, "e", []string{"p", "missing"},
			`<e xmlns="urn:d" xmlns:p="urn:p"><f></f></e>`},
		{"PrefixList #default on a prefixed element", `<r xmlns="urn:d" xmlns:p="urn:p"><p:e><f/></p:e></r>`, "e", []string{""},
			`<p:e xmlns="urn:d" xmlns:p="urn:p"><f></f></p:e>`},
		{"PrefixList prefix redeclared below", `<r xmlns:p="urn:p"><e><g xmlns:p="urn:p2"/></e></r>`, "e", []string{"p"},
			`<e xmlns:p="urn:p"><g xmlns:p="urn:p2"></g></e>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parseDoc([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			apex := doc.root
			if tc.apex != "" {
				apex = findElement(doc.root, tc.apex)
			}
			got, err := canonicalize(apex, tc.inclusive)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestParseDocRejects(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("<a>", n) + strings.Repeat("</a>", n) }
	manyAttrs := func(n int) string {
		var b strings.Builder
		b.WriteString("<a")
		for i := range n {
			b.WriteString(" a")
			b.WriteString(strings.Repeat("x", i))
			b.WriteString(`="1"`)
		}
		return b.String() + "/>"
	}
	manyDecls := func(n int) string {
		var b strings.Builder
		for range n / 8 {
			b.WriteString(`<a xmlns:a="u" xmlns:b="u" xmlns:c="u" xmlns:d="u" xmlns:e="u" xmlns:f="u" xmlns:g="u" xmlns:h="u"/>`)
		}
		return "<r>" + b.String() + "</r>"
	}
	for _, tc := range []struct {
		name string
		doc  string
		want error // nil: accepted
	}{
		{"depth 32", nest(32), nil},
		{"byte order mark", "\xef\xbb\xbf<a/>", nil},
		{"64 attributes", manyAttrs(64), nil},
		{"512 declarations", manyDecls(512), nil},
		{"mismatched end tag", `<a></b>`, errXMLSyntax},
		{"mismatched prefix", `<p:a xmlns:p="u" xmlns:q="u"></q:a>`, errXMLSyntax},
		{"unclosed", `<a><b></b>`, errXMLSyntax},
		{"two roots", `<a/><b/>`, errXMLSyntax},
		{"text outside the root", `<a/>x`, errXMLSyntax},
		{"DOCTYPE", `<!DOCTYPE a><a/>`, errXMLSyntax},
		{"undefined entity", `<a>&x;</a>`, errXMLSyntax},
		{"xml PI inside", `<a><?xml version="1.0"?></a>`, errXMLSyntax},
		{"unbound element prefix", `<p:a/>`, errXMLNames},
		{"unbound attribute prefix", `<a p:x="1"/>`, errXMLNames},
		{"duplicate attribute", `<a x="1" x="2"/>`, errXMLSyntax},
		{"duplicate expanded name", `<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, errXMLNames},
		{"duplicate declaration", `<a xmlns:p="u" xmlns:p="v"/>`, errXMLSyntax},
		{"empty prefix binding", `<a xmlns:p=""/>`, errXMLNames},
		{"xml prefix rebound", `<a xmlns:xml="urn:x"/>`, errXMLNames},
		{"xmlns element", `<xmlns:a/>`, errXMLNames},
		{"two colons", `<a:b:c xmlns:a="u"/>`, errXMLSyntax},
		{"depth 33", nest(33), errXMLLimit},
		{"65 attributes", manyAttrs(65), errXMLLimit},
		{"too many declarations", manyDecls(520), errXMLLimit},
		{"too many tokens", "<r>" + strings.Repeat("<a/>", dsigMaxTokens/2) + "</r>", errXMLLimit},
		{"too large", "<r>" + strings.Repeat(" ", dsigMaxBytes) + "</r>", errXMLLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseDoc([]byte(tc.doc))
			if tc.want == nil && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				// Duplicate attributes and declarations may be caught by either
				// check; any rejection is right for them.
				if err == nil || !strings.HasPrefix(tc.name, "duplicate") {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func TestCanonicalizeSizeCap(t *testing.T) {
	// Siblings repeat the declarations of the ancestor: output grows by the
	// URI size per element while the input grows by a few bytes.
	uri := "urn:" + strings.Repeat("x", 60000)
	doc := `<r xmlns:p="` + uri + `">` + strings.Repeat("<p:a/>", 100) + `</r>`
	d, err := parseDoc([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := canonicalize(d.root, nil); !errors.Is(err, errCanonSize) {
		t.Fatalf("got %v, want %v", err, errCanonSize)
	}
}
