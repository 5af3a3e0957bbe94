package wstep

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the small XML tree that signature verification and
// canonicalization (c14n.go) work on.
//
// encoding/xml resolves namespaces but forgets prefixes, which are part of
// the canonical form, so the tree is built from RawToken and namespaces are
// resolved here. Attribute values are re-read from the raw start tag because
// encoding/xml does not apply XML attribute-value normalization (a literal
// tab or newline becomes a space, a character reference does not).

// nsXML is the namespace bound to the reserved prefix xml.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// Bounds of the envelope parser used for signature verification.
const (
	dsigMaxBytes = 1 << 20 // envelope size
	dsigMaxDepth = 32      // element nesting
	// dsigMaxTokens counts every token encoding/xml returns.
	dsigMaxTokens = 20000
	dsigMaxAttrs  = 64 // attributes and namespace declarations per element
	// dsigMaxDecls caps namespace declarations in the whole envelope.
	dsigMaxDecls = 512
)

var (
	errXMLSyntax = errors.New("malformed XML")
	errXMLLimit  = errors.New("XML limits exceeded")
	errXMLNames  = errors.New("XML namespaces are not well formed")
)

type nodeKind uint8

const (
	kindElement nodeKind = iota
	kindText
	kindPI
)

// xnode is an element, a run of character data or a processing
// instruction. Comments are dropped while parsing.
type xnode struct {
	kind     nodeKind
	prefix   string // element prefix as written
	local    string // element local name, or PI target
	space    string // namespace URI of the element
	attrs    []xattr
	decls    []nsDecl
	parent   *xnode
	children []*xnode
	text     string // character data, or PI instruction
}

// xattr is an attribute other than a namespace declaration, with its value
// normalized.
type xattr struct {
	prefix, local, space, value string
}

// nsDecl is a namespace declaration; prefix "" is the default namespace
// and uri "" undeclares it.
type nsDecl struct {
	prefix, uri string
}

// xdoc is a parsed envelope.
type xdoc struct {
	root *xnode
	ids  map[string]*xnode // ID attribute value -> element; nil element when not unique
}

// isIDAttr reports whether a is one of the ID attributes references may
// point at: wsu:Id, wsse:Id, or an unqualified Id or ID.
func isIDAttr(a xattr) bool {
	switch a.space {
	case NSUtility, NSSecExt:
		return a.local == "Id"
	case "":
		return a.local == "Id" || a.local == "ID"
	}
	return false
}

// nsScope tracks in-scope namespace bindings with undo marks, so lookups
// cost the same at any depth.
type nsScope struct {
	m    map[string]string
	undo []nsUndo
}

type nsUndo struct {
	prefix, old string
	had         bool
}

func newScope() *nsScope { return &nsScope{m: make(map[string]string)} }

func (s *nsScope) bind(prefix, uri string) {
	old, had := s.m[prefix]
	s.undo = append(s.undo, nsUndo{prefix, old, had})
	s.m[prefix] = uri
}

func (s *nsScope) mark() int { return len(s.undo) }

func (s *nsScope) reset(mark int) {
	for len(s.undo) > mark {
		u := s.undo[len(s.undo)-1]
		s.undo = s.undo[:len(s.undo)-1]
		if u.had {
			s.m[u.prefix] = u.old
		} else {
			delete(s.m, u.prefix)
		}
	}
}

// lookup returns the namespace bound to prefix; the default namespace is
// "" when undeclared.
func (s *nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	uri, ok := s.m[prefix]
	if !ok && prefix == "" {
		return "", true
	}
	return uri, ok
}

// parseDoc parses a whole document within the dsigMax bounds and checks
// what RawToken does not: matching end tags, one root, bound prefixes,
// unique attributes.
func parseDoc(b []byte) (*xdoc, error) {
	if len(b) > dsigMaxBytes {
		return nil, errXMLLimit
	}
	// encoding/xml takes a UTF-8 byte order mark for text before the root.
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	doc := &xdoc{ids: make(map[string]*xnode)}
	scope := newScope()
	var cur *xnode
	var marks []int
	tokens, decls := 0, 0
	for {
		start := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errXMLSyntax
		}
		if tokens++; tokens > dsigMaxTokens {
			return nil, errXMLLimit
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == nil && doc.root != nil {
				return nil, errXMLSyntax
			}
			if len(marks) >= dsigMaxDepth {
				return nil, errXMLLimit
			}
			end := d.InputOffset()
			if start < 0 || end > int64(len(b)) || start >= end {
				return nil, errXMLSyntax
			}
			marks = append(marks, scope.mark())
			n, err := newElement(t, b[start:end], cur, scope)
			if err != nil {
				return nil, err
			}
			if decls += len(n.decls); decls > dsigMaxDecls {
				return nil, errXMLLimit
			}
			doc.addIDs(n)
			if cur == nil {
				doc.root = n
			} else {
				cur.children = append(cur.children, n)
			}
			cur = n
		case xml.EndElement:
			if cur == nil || t.Name.Space != cur.prefix || t.Name.Local != cur.local {
				return nil, errXMLSyntax
			}
			scope.reset(marks[len(marks)-1])
			marks = marks[:len(marks)-1]
			cur = cur.parent
		case xml.CharData:
			if cur == nil {
				if len(bytes.TrimLeft(t, " \t\r\n")) != 0 {
					return nil, errXMLSyntax
				}
				continue
			}
			cur.children = append(cur.children, &xnode{kind: kindText, text: string(t), parent: cur})
		case xml.ProcInst:
			if cur != nil {
				if strings.EqualFold(t.Target, "xml") {
					return nil, errXMLSyntax
				}
				// encoding/xml passes the instruction raw: normalize line ends.
				inst := strings.ReplaceAll(string(t.Inst), "\r\n", "\n")
				inst = strings.ReplaceAll(inst, "\r", "\n")
				cur.children = append(cur.children, &xnode{kind: kindPI, local: t.Target, text: inst, parent: cur})
			}
		case xml.Comment:
		default: // directives: DOCTYPE, ENTITY and the like
			return nil, errXMLSyntax
		}
	}
	if doc.root == nil || cur != nil {
		return nil, errXMLSyntax
	}
	return doc, nil
}

// addIDs records n's ID attributes; an ID seen on two elements maps to nil
// so that a reference to it fails.
func (doc *xdoc) addIDs(n *xnode) {
	for _, a := range n.attrs {
		if !isIDAttr(a) {
			continue
		}
		if prev, ok := doc.ids[a.value]; ok && prev != n {
			doc.ids[a.value] = nil
			continue
		}
		doc.ids[a.value] = n
	}
}

// newElement builds an element from its token and raw start tag, binds its
// namespace declarations in scope and resolves its names.
func newElement(t xml.StartElement, raw []byte, parent *xnode, scope *nsScope) (*xnode, error) {
	if !validName(t.Name) || t.Name.Space == "xmlns" {
		return nil, errXMLNames
	}
	if len(t.Attr) > dsigMaxAttrs {
		return nil, errXMLLimit
	}
	values, err := rawAttrValues(raw, t.Attr)
	if err != nil {
		return nil, err
	}
	n := &xnode{kind: kindElement, prefix: t.Name.Space, local: t.Name.Local, parent: parent}
	for i, a := range t.Attr {
		if !validName(a.Name) {
			return nil, errXMLNames
		}
		v := values[i]
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if v == nsXML {
				return nil, errXMLNames
			}
			n.decls = append(n.decls, nsDecl{"", v})
		case a.Name.Space == "xmlns":
			p := a.Name.Local
			if p == "xmlns" || v == "" || (p == "xml") != (v == nsXML) {
				return nil, errXMLNames
			}
			n.decls = append(n.decls, nsDecl{p, v})
		default:
			n.attrs = append(n.attrs, xattr{prefix: a.Name.Space, local: a.Name.Local, value: v})
		}
	}
	for i, dcl := range n.decls {
		for _, other := range n.decls[:i] {
			if other.prefix == dcl.prefix {
				return nil, errXMLNames
			}
		}
		if dcl.prefix != "xml" {
			scope.bind(dcl.prefix, dcl.uri)
		}
	}
	var ok bool
	if n.space, ok = scope.lookup(n.prefix); !ok {
		return nil, errXMLNames
	}
	for i := range n.attrs {
		a := &n.attrs[i]
		if a.prefix != "" {
			if a.space, ok = scope.lookup(a.prefix); !ok {
				return nil, errXMLNames
			}
		}
		for _, other := range n.attrs[:i] {
			if other.space == a.space && other.local == a.local {
				return nil, errXMLNames
			}
		}
	}
	return n, nil
}

// validName rejects names RawToken splits oddly, such as a:b:c or :a.
func validName(n xml.Name) bool {
	return n.Local != "" && !strings.Contains(n.Local, ":") && !strings.Contains(n.Space, ":")
}

// rawAttrValues re-reads the attribute values of a start tag and returns
// them normalized: literal tab, CR, LF and CRLF become one space, then
// references are expanded. encoding/xml has already checked the syntax;
// the names are compared to its attributes so both agree on the order.
func rawAttrValues(raw []byte, attrs []xml.Attr) ([]string, error) {
	values := make([]string, 0, len(attrs))
	i := 1 // past '<'
	for i < len(raw) && !isXMLSpace(raw[i]) && raw[i] != '/' && raw[i] != '>' {
		i++
	}
	for {
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) {
			return nil, errXMLSyntax
		}
		if raw[i] == '/' || raw[i] == '>' {
			break
		}
		nameStart := i
		for i < len(raw) && raw[i] != '=' && !isXMLSpace(raw[i]) {
			i++
		}
		name := string(raw[nameStart:i])
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] != '=' {
			return nil, errXMLSyntax
		}
		i++
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || (raw[i] != '"' && raw[i] != '\'') {
			return nil, errXMLSyntax
		}
		end := bytes.IndexByte(raw[i+1:], raw[i])
		if end < 0 {
			return nil, errXMLSyntax
		}
		k := len(values)
		if k >= len(attrs) || name != qname(attrs[k].Name.Space, attrs[k].Name.Local) {
			return nil, errXMLSyntax
		}
		v, err := normalizeAttr(raw[i+1 : i+1+end])
		if err != nil {
			return nil, err
		}
		values = append(values, v)
		i += end + 2
	}
	if len(values) != len(attrs) {
		return nil, errXMLSyntax
	}
	return values, nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func normalizeAttr(v []byte) (string, error) {
	var sb strings.Builder
	sb.Grow(len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\r':
			sb.WriteByte(' ')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
		case '\n', '\t':
			sb.WriteByte(' ')
		case '&':
			semi := bytes.IndexByte(v[i:], ';')
			if semi < 0 {
				return "", errXMLSyntax
			}
			r, ok := expandRef(string(v[i+1 : i+semi]))
			if !ok {
				return "", errXMLSyntax
			}
			sb.WriteRune(r)
			i += semi
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

// expandRef expands the name of an entity or character reference.
func expandRef(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	var n uint64
	var err error
	switch {
	case strings.HasPrefix(name, "#x"):
		n, err = strconv.ParseUint(name[2:], 16, 32)
	case strings.HasPrefix(name, "#"):
		n, err = strconv.ParseUint(name[1:], 10, 32)
	default:
		return 0, false
	}
	if err != nil || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}
