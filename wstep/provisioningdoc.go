package wstep

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Limits of ParseProvisioningDoc. A real document is a few KiB with about
// 50 nodes and a depth of 6.
const (
	maxProvisioningBytes = 256 << 10
	maxProvisioningDepth = 16   // element nesting, the root included
	maxProvisioningNodes = 2048 // characteristics and parms together
)

// ProvisioningDoc is a wap-provisioningdoc as a generic tree. It is what
// ParseProvisioningDoc returns.
type ProvisioningDoc struct {
	// Version is the version attribute of the root ("1.1").
	Version string
	// Characteristics are the top-level characteristics, in order.
	Characteristics []*Characteristic
}

// Characteristic is a characteristic element. Its parms and child
// characteristics keep their order within each list. The tree does not
// record how the two lists were interleaved, and parms are written first.
type Characteristic struct {
	Type     string
	Params   []Param
	Children []*Characteristic
}

// Param is a parm element. Value is empty when the attribute is absent
// (as in BACKCOMPATRETRYDISABLED). Datatype is the optional datatype
// attribute ("integer", "boolean", "string").
type Param struct {
	Name, Value, Datatype string
}

// Child returns the first child characteristic of type typ, compared
// exactly, or nil if there is none. A nil receiver returns nil.
func (c *Characteristic) Child(typ string) *Characteristic {
	if c == nil {
		return nil
	}
	for _, ch := range c.Children {
		if ch != nil && ch.Type == typ {
			return ch
		}
	}
	return nil
}

// Param returns the first parm named name, compared exactly, and whether it
// was found. A nil receiver finds nothing.
func (c *Characteristic) Param(name string) (Param, bool) {
	if c == nil {
		return Param{}, false
	}
	for _, p := range c.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Find returns the first characteristic, in document order, reached by the
// path of types from the top level, for example
// Find("CertificateStore", "Root", "System"). A type may repeat at one level
// (the [MS-MDE2] example has two top-level CertificateStore characteristics),
// so every branch that matches is searched. Find returns nil when nothing
// matches or path is empty.
func (d *ProvisioningDoc) Find(path ...string) *Characteristic {
	if d == nil || len(path) == 0 {
		return nil
	}
	return findPath(d.Characteristics, path)
}

// findPath recurses at most len(path) deep and visits each node once.
func findPath(list []*Characteristic, path []string) *Characteristic {
	for _, c := range list {
		if c == nil || c.Type != path[0] {
			continue
		}
		if len(path) == 1 {
			return c
		}
		if r := findPath(c.Children, path[1:]); r != nil {
			return r
		}
	}
	return nil
}

// ParseProvisioningDoc decodes a wap-provisioningdoc into a tree. It is
// strict about XML well-formedness and liberal about content: namespaces and
// prefixes are ignored, as are text, comments, processing instructions and
// elements other than characteristic and parm (with everything inside them).
// A characteristic needs a type attribute, and a parm needs a name and must
// sit inside a characteristic. Input is limited to 256 KiB, a nesting depth
// of 16 and 2048 characteristics and parms in total, and DOCTYPE is refused.
// Errors start with "wstep: ".
func ParseProvisioningDoc(b []byte) (*ProvisioningDoc, error) {
	if len(b) > maxProvisioningBytes {
		return nil, errors.New("wstep: provisioning document is larger than 256 KiB")
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true

	var (
		doc   *ProvisioningDoc
		done  bool // the root element has ended
		nodes int
		// stack holds one entry per open element below the root: the
		// characteristic, or nil for a parm or an ignored element, whose
		// content is ignored.
		stack []*Characteristic
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("wstep: provisioning document: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("wstep: provisioning document: directives (DOCTYPE) are not allowed")
		case xml.EndElement:
			if len(stack) == 0 {
				done = true
			} else {
				stack = stack[:len(stack)-1]
			}
		case xml.StartElement:
			if done {
				return nil, errors.New("wstep: provisioning document: more than one root element")
			}
			if doc == nil {
				if t.Name.Local != "wap-provisioningdoc" {
					return nil, errors.New("wstep: provisioning document: root element is not wap-provisioningdoc")
				}
				doc = &ProvisioningDoc{}
				doc.Version, _ = attr(t, "version")
				continue
			}
			if len(stack)+2 > maxProvisioningDepth {
				return nil, errors.New("wstep: provisioning document: nested deeper than 16 elements")
			}
			var parent *Characteristic
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
				if parent == nil { // inside a parm or an ignored element
					stack = append(stack, nil)
					continue
				}
			}
			c, err := parseNode(t, doc, parent)
			if err != nil {
				return nil, err
			}
			if c != nil || t.Name.Local == "parm" {
				nodes++
				if nodes > maxProvisioningNodes {
					return nil, errors.New("wstep: provisioning document: more than 2048 characteristics and parms")
				}
			}
			stack = append(stack, c)
		}
	}
	if doc == nil {
		return nil, errors.New("wstep: provisioning document: no wap-provisioningdoc element")
	}
	return doc, nil
}

// parseNode adds the characteristic or parm that t starts to parent (to the
// top level of doc when parent is nil). It returns the new characteristic,
// or nil for a parm or an element it ignores.
func parseNode(t xml.StartElement, doc *ProvisioningDoc, parent *Characteristic) (*Characteristic, error) {
	switch t.Name.Local {
	case "characteristic":
		typ, ok := attr(t, "type")
		if !ok {
			return nil, errors.New("wstep: provisioning document: characteristic without a type")
		}
		c := &Characteristic{Type: typ}
		if parent == nil {
			doc.Characteristics = append(doc.Characteristics, c)
		} else {
			parent.Children = append(parent.Children, c)
		}
		return c, nil
	case "parm":
		if parent == nil {
			return nil, errors.New("wstep: provisioning document: parm outside a characteristic")
		}
		name, ok := attr(t, "name")
		if !ok || name == "" {
			return nil, errors.New("wstep: provisioning document: parm without a name")
		}
		value, _ := attr(t, "value")
		datatype, _ := attr(t, "datatype")
		parent.Params = append(parent.Params, Param{Name: name, Value: value, Datatype: datatype})
	}
	return nil, nil
}

// attr returns the value of the attribute with the given local name.
func attr(t xml.StartElement, local string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// encode writes d compactly: no declaration, no whitespace between
// elements, parms before child characteristics, attributes escaped.
// Empty values and datatypes are left out.
func (d *ProvisioningDoc) encode() []byte {
	var b bytes.Buffer
	b.WriteString("<wap-provisioningdoc")
	writeAttr(&b, "version", d.Version)
	b.WriteByte('>')
	for _, c := range d.Characteristics {
		writeCharacteristic(&b, c)
	}
	b.WriteString("</wap-provisioningdoc>")
	return b.Bytes()
}

func writeCharacteristic(b *bytes.Buffer, c *Characteristic) {
	if c == nil {
		return
	}
	b.WriteString("<characteristic")
	b.WriteString(` type="`)
	escapeAttr(b, c.Type)
	b.WriteByte('"')
	if len(c.Params) == 0 && len(c.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, p := range c.Params {
		b.WriteString(`<parm name="`)
		escapeAttr(b, p.Name)
		b.WriteByte('"')
		writeAttr(b, "value", p.Value)
		writeAttr(b, "datatype", p.Datatype)
		b.WriteString("/>")
	}
	for _, ch := range c.Children {
		writeCharacteristic(b, ch)
	}
	b.WriteString("</characteristic>")
}

// writeAttr writes ` name="value"`, or nothing when value is empty.
func writeAttr(b *bytes.Buffer, name, value string) {
	if value == "" {
		return
	}
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	escapeAttr(b, value)
	b.WriteByte('"')
}

// escapeAttr escapes s for a double-quoted attribute. xml.EscapeText also
// escapes tab, CR and LF, so they survive attribute-value normalisation.
func escapeAttr(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer never fails
}

// add appends a parm.
func (c *Characteristic) add(name, value, datatype string) {
	c.Params = append(c.Params, Param{Name: name, Value: value, Datatype: datatype})
}
