package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Limits bounds a document. A zero or negative field means no limit for
// that dimension.
type Limits struct {
	// MaxBytes is the largest document accepted.
	MaxBytes int
	// MaxDepth is the deepest element nesting accepted; the root element
	// is at depth 1.
	MaxDepth int
	// MaxTokens is the largest number of tokens (start and end elements,
	// text runs, comments, processing instructions) accepted.
	MaxTokens int
	// MaxAttrs is the largest number of attributes, namespace declarations
	// included, accepted on one element.
	MaxAttrs int
}

var (
	// ErrLimit is wrapped by the errors Check returns when a limit is
	// exceeded.
	ErrLimit = errors.New("xmlsafe: limit exceeded")
	// ErrSyntax is wrapped by the errors Check returns for a document that
	// is not well formed or uses a construct that is refused (a DOCTYPE or
	// other directive, several root elements, text outside the root).
	ErrSyntax = errors.New("xmlsafe: malformed XML")
)

// Check walks b and reports whether it is one well-formed XML document
// within lim. The error wraps ErrLimit or ErrSyntax. Error texts carry
// line numbers and the limit exceeded, never the document's own content.
func Check(b []byte, lim Limits) error {
	if lim.MaxBytes > 0 && len(b) > lim.MaxBytes {
		return fmt.Errorf("%w: document of %d bytes exceeds %d", ErrLimit, len(b), lim.MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		stack  []xml.Name
		tokens int
		roots  int
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return syntaxErr(d, err)
		}
		tokens++
		if lim.MaxTokens > 0 && tokens > lim.MaxTokens {
			return fmt.Errorf("%w: more than %d tokens", ErrLimit, lim.MaxTokens)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
				if roots > 1 {
					return fmt.Errorf("%w: line %d: more than one root element", ErrSyntax, line(d))
				}
			}
			if lim.MaxDepth > 0 && len(stack) >= lim.MaxDepth {
				return fmt.Errorf("%w: elements nested deeper than %d", ErrLimit, lim.MaxDepth)
			}
			if lim.MaxAttrs > 0 && len(t.Attr) > lim.MaxAttrs {
				return fmt.Errorf("%w: line %d: element with more than %d attributes", ErrLimit, line(d), lim.MaxAttrs)
			}
			if hasDuplicateAttr(t.Attr) {
				return fmt.Errorf("%w: line %d: attribute repeated on one element", ErrSyntax, line(d))
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			// RawToken does not match end tags to start tags; do it here.
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return fmt.Errorf("%w: line %d: end tag does not match the open element", ErrSyntax, line(d))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimLeft(t, " \t\r\n")) != 0 {
				return fmt.Errorf("%w: line %d: text outside the root element", ErrSyntax, line(d))
			}
		case xml.Directive:
			return fmt.Errorf("%w: line %d: DOCTYPE and other directives are not allowed", ErrSyntax, line(d))
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("%w: unexpected end of document inside an element", ErrSyntax)
	}
	if roots == 0 {
		return fmt.Errorf("%w: no root element", ErrSyntax)
	}
	return nil
}

// syntaxErr wraps an encoding/xml error. The decoder's message can quote
// element names from the document, so only the line is kept.
func syntaxErr(d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: line %d", ErrSyntax, se.Line)
	}
	return fmt.Errorf("%w: line %d", ErrSyntax, line(d))
}

// hasDuplicateAttr reports whether an attribute name (prefix and local
// name, as written) appears twice. encoding/xml accepts that; the XML
// specification does not.
func hasDuplicateAttr(attrs []xml.Attr) bool {
	if len(attrs) > 16 {
		seen := make(map[xml.Name]struct{}, len(attrs))
		for _, a := range attrs {
			if _, ok := seen[a.Name]; ok {
				return true
			}
			seen[a.Name] = struct{}{}
		}
		return false
	}
	for i := 1; i < len(attrs); i++ {
		for j := 0; j < i; j++ {
			if attrs[i].Name == attrs[j].Name {
				return true
			}
		}
	}
	return false
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}
