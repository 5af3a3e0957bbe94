package wstep

import (
	"bytes"
	"errors"
	"slices"
	"strings"
)

// Exclusive XML Canonicalization 1.0 without comments
// (http://www.w3.org/2001/10/xml-exc-c14n#, W3C Recommendation 2002) of
// an element subtree of a parsed envelope (see xmltree.go).

// dsigMaxCanon caps one canonical form: namespace declarations are
// repeated on sibling elements, so output can outgrow the input.
const dsigMaxCanon = 2 << 20

var errCanonSize = errors.New("canonical form too large")

// canonicalizer writes the exclusive canonical form of one subtree.
type canonicalizer struct {
	buf       bytes.Buffer
	inclusive []string // InclusiveNamespaces PrefixList; "" is #default
	scope     *nsScope // namespaces in scope in the document
	rendered  *nsScope // namespaces in effect in the output
	out       []nsDecl // reused between elements
	attrs     []xattr  // reused between elements
	err       error
}

// canonicalize returns the exclusive canonical form (without comments) of
// the subtree at n. Prefixes in inclusive (with "" for #default) are
// rendered as inclusive C14N does: wherever in scope and not yet in effect.
func canonicalize(n *xnode, inclusive []string) ([]byte, error) {
	c := &canonicalizer{inclusive: inclusive, scope: newScope(), rendered: newScope()}
	if len(inclusive) > 0 {
		var chain []*xnode
		for p := n.parent; p != nil; p = p.parent {
			chain = append(chain, p)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			for _, d := range chain[i].decls {
				c.scope.bind(d.prefix, d.uri)
			}
		}
	}
	c.element(n)
	if c.err != nil {
		return nil, c.err
	}
	return c.buf.Bytes(), nil
}

func (c *canonicalizer) element(n *xnode) {
	if c.buf.Len() > dsigMaxCanon {
		c.err = errCanonSize
		return
	}
	scopeMark, renderMark := c.scope.mark(), c.rendered.mark()
	for _, d := range n.decls {
		c.scope.bind(d.prefix, d.uri)
	}
	out := c.out[:0]
	c.need(&out, n.prefix, n.space)
	for _, a := range n.attrs {
		if a.prefix != "" {
			c.need(&out, a.prefix, a.space)
		}
	}
	for _, p := range c.inclusive {
		if uri, ok := c.scope.lookup(p); ok {
			c.need(&out, p, uri)
		}
	}
	slices.SortFunc(out, func(a, b nsDecl) int { return strings.Compare(a.prefix, b.prefix) })
	c.buf.WriteByte('<')
	c.buf.WriteString(qname(n.prefix, n.local))
	for _, d := range out {
		c.buf.WriteString(" xmlns")
		if d.prefix != "" {
			c.buf.WriteByte(':')
			c.buf.WriteString(d.prefix)
		}
		c.buf.WriteString(`="`)
		c14nEscapeAttr(&c.buf, d.uri)
		c.buf.WriteByte('"')
	}
	c.out = out
	attrs := append(c.attrs[:0], n.attrs...)
	slices.SortFunc(attrs, func(a, b xattr) int {
		if r := strings.Compare(a.space, b.space); r != 0 {
			return r
		}
		return strings.Compare(a.local, b.local)
	})
	for _, a := range attrs {
		c.buf.WriteByte(' ')
		c.buf.WriteString(qname(a.prefix, a.local))
		c.buf.WriteString(`="`)
		c14nEscapeAttr(&c.buf, a.value)
		c.buf.WriteByte('"')
	}
	c.attrs = attrs
	c.buf.WriteByte('>')
	for _, ch := range n.children {
		if c.err != nil {
			return
		}
		switch ch.kind {
		case kindElement:
			c.element(ch)
		case kindText:
			escapeText(&c.buf, ch.text)
		case kindPI:
			c.buf.WriteString("<?")
			c.buf.WriteString(ch.local)
			if ch.text != "" {
				c.buf.WriteByte(' ')
				c.buf.WriteString(ch.text)
			}
			c.buf.WriteString("?>")
		}
	}
	c.buf.WriteString("</")
	c.buf.WriteString(qname(n.prefix, n.local))
	c.buf.WriteByte('>')
	c.scope.reset(scopeMark)
	c.rendered.reset(renderMark)
}

// need adds the binding prefix=uri to out unless it is already there, is
// the xml prefix, or is already in effect from an output ancestor (an
// absent default namespace counts as the empty one).
func (c *canonicalizer) need(out *[]nsDecl, prefix, uri string) {
	if prefix == "xml" {
		return
	}
	for _, d := range *out {
		if d.prefix == prefix {
			return
		}
	}
	if cur, _ := c.rendered.lookup(prefix); cur == uri {
		return
	}
	c.rendered.bind(prefix, uri)
	*out = append(*out, nsDecl{prefix, uri})
}

func escapeText(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteByte(c)
		}
	}
}

func c14nEscapeAttr(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteByte(c)
		}
	}
}
