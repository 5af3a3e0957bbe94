package plist

import (
	"bytes"
	"unicode/utf8"
)

// The XML layer: a small scanner over the input that understands exactly
// what property lists use (elements, attributes it ignores, character
// data, entity and character references, CDATA, comments, processing
// instructions and the DOCTYPE) and no more. It never builds a tree.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}

// skipSpace moves past whitespace.
func (d *decoder) skipSpace() {
	for d.pos < len(d.data) && isSpace(d.data[d.pos]) {
		d.pos++
	}
}

// skipMisc moves past whitespace, comments and processing instructions,
// leaving d.pos at the next '<' of an element or at the end of the input.
// Any other text is an error.
func (d *decoder) skipMisc() error {
	for {
		d.skipSpace()
		rest := d.data[d.pos:]
		switch {
		case len(rest) == 0:
			return nil
		case rest[0] != '<':
			return d.errSyntax(d.pos, "unexpected text")
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := d.skipPast(4, "-->", "comment"); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := d.skipPast(2, "?>", "processing instruction"); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// skipPast moves d.pos past the first end after d.pos+skip.
func (d *decoder) skipPast(skip int, end, what string) error {
	i := bytes.Index(d.data[d.pos+skip:], []byte(end))
	if i < 0 {
		return d.errSyntax(d.pos, "unterminated "+what)
	}
	d.pos += skip + i + len(end)
	return nil
}

// skipProlog moves past a byte order mark, the XML declaration, comments,
// processing instructions and one DOCTYPE.
func (d *decoder) skipProlog() error {
	if bytes.HasPrefix(d.data, []byte("\xEF\xBB\xBF")) {
		d.pos = 3
	}
	doctype := false
	for {
		if err := d.skipMisc(); err != nil {
			return err
		}
		if doctype || !bytes.HasPrefix(d.data[d.pos:], []byte("<!DOCTYPE")) {
			return nil
		}
		doctype = true
		if err := d.skipDoctype(); err != nil {
			return err
		}
	}
}

// skipDoctype moves past <!DOCTYPE ...>, including an internal subset in
// brackets and quoted literals that may hold '>'. Entities the subset
// declares are not honoured: a reference to one fails as unknown.
func (d *decoder) skipDoctype() error {
	start := d.pos
	var quote byte
	bracket := false
	for i := d.pos + len("<!DOCTYPE"); i < len(d.data); i++ {
		c := d.data[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			bracket = true
		case c == ']':
			bracket = false
		case c == '>' && !bracket:
			d.pos = i + 1
			return nil
		}
	}
	return d.errSyntax(start, "unterminated DOCTYPE")
}

// tag reads the tag at d.pos, which skipMisc left at a '<'. It returns the
// element name, whether it is an end tag, and whether a start tag is
// self-closing. Attributes are checked for form and ignored.
func (d *decoder) tag() (name []byte, end, empty bool, err error) {
	start := d.pos
	data := d.data
	i := d.pos + 1
	if i >= len(data) {
		return nil, false, false, d.errSyntax(start, "unexpected end of input")
	}
	if data[i] == '/' {
		end = true
		i++
	}
	n := i
	for i < len(data) && !isSpace(data[i]) && data[i] != '>' && data[i] != '/' {
		i++
	}
	name = data[n:i]
	if len(name) == 0 || name[0] == '!' || name[0] == '?' {
		return nil, false, false, d.errSyntax(start, "malformed tag")
	}
	for {
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if i >= len(data) {
			return nil, false, false, d.errSyntax(start, "unterminated tag")
		}
		switch c := data[i]; {
		case c == '>':
			d.pos = i + 1
			return name, end, false, nil
		case c == '/' && !end && i+1 < len(data) && data[i+1] == '>':
			d.pos = i + 2
			return name, false, true, nil
		case end:
			return nil, false, false, d.errSyntax(start, "malformed end tag")
		}
		// An attribute: name = "value" or name = 'value'.
		a := i
		for i < len(data) && !isSpace(data[i]) && data[i] != '=' && data[i] != '>' && data[i] != '/' {
			i++
		}
		if i == a {
			return nil, false, false, d.errSyntax(i, "malformed attribute")
		}
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if i >= len(data) || data[i] != '=' {
			return nil, false, false, d.errSyntax(i, "malformed attribute")
		}
		i++
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if i >= len(data) || (data[i] != '"' && data[i] != '\'') {
			return nil, false, false, d.errSyntax(i, "malformed attribute")
		}
		q := bytes.IndexByte(data[i+1:], data[i])
		if q < 0 {
			return nil, false, false, d.errSyntax(i, "unterminated attribute")
		}
		if bytes.IndexByte(data[i+1:i+1+q], '<') >= 0 {
			return nil, false, false, d.errSyntax(i, "'<' in attribute")
		}
		i += q + 2
	}
}

// endTag reports whether the input at i is </name> (whitespace allowed
// before '>') and returns the offset just past it.
func endTag(data []byte, i int, name string) (int, bool) {
	if i+2+len(name) >= len(data) || data[i] != '<' || data[i+1] != '/' ||
		string(data[i+2:i+2+len(name)]) != name {
		return 0, false
	}
	i += 2 + len(name)
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i < len(data) && data[i] == '>' {
		return i + 1, true
	}
	return 0, false
}

// text reads the character data of element name up to and including its
// end tag. The common case (no references, no CDATA, no comments) returns
// a slice of the input without copying; the result must not be modified.
//
// Line ends are kept as they are. XML 1.0 asks a parser to turn "\r\n"
// into "\n", but Apple's parser does not, and a device's strings should
// arrive as the device wrote them.
func (d *decoder) text(name string) ([]byte, error) {
	data := d.data
	start := d.pos
	i := start
	for {
		for i < len(data) && textStop[data[i]] == 0 {
			i++
		}
		if i >= len(data) || data[i] == '<' {
			break
		}
		c := data[i]
		if c == '>' || c == '\r' {
			i++
			continue
		}
		if c == '&' {
			return d.textSlow(name)
		}
		if c < 0x80 {
			return nil, d.errSyntax(i, "control character in text")
		}
		r, n := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
			return nil, d.errSyntax(i, "invalid character in text")
		}
		i += n
	}
	if end, ok := endTag(data, i, name); ok {
		d.pos = end
		return data[start:i], d.checkSize(start, i-start)
	}
	return d.textSlow(name)
}

// textStop marks the bytes that end a run of plain character data: '<',
// '&', '>', control characters other than tab and newline, and non-ASCII.
// ('>' and '\r' are plain when reading but escaped when writing.)
const textStop = "" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

func (d *decoder) checkSize(off, n int) error {
	if n > d.lim.MaxValueBytes {
		return d.errLimit(off, "value larger than MaxValueBytes")
	}
	return nil
}

// textSlow is text for content that needs rewriting: it resolves
// references, unwraps CDATA and drops comments.
func (d *decoder) textSlow(name string) ([]byte, error) {
	data := d.data
	start := d.pos
	out := make([]byte, 0, 64)
	i := start
	for {
		if len(out) > d.lim.MaxValueBytes {
			return nil, d.errLimit(start, "value larger than MaxValueBytes")
		}
		if i >= len(data) {
			return nil, d.errSyntax(start, "unterminated <"+name+">")
		}
		switch c := data[i]; c {
		case '&':
			var err error
			if out, i, err = d.reference(out, i); err != nil {
				return nil, err
			}
		case '<':
			rest := data[i:]
			switch {
			case bytes.HasPrefix(rest, []byte("</")):
				end, ok := endTag(data, i, name)
				if !ok {
					return nil, d.errSyntax(i, "mismatched end tag in <"+name+">")
				}
				d.pos = end
				return out, d.checkSize(start, len(out))
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				j := bytes.Index(rest, []byte("]]>"))
				if j < 0 {
					return nil, d.errSyntax(i, "unterminated CDATA")
				}
				var err error
				if out, err = d.appendChars(out, i+9, i+j); err != nil {
					return nil, err
				}
				i += j + 3
			case bytes.HasPrefix(rest, []byte("<!--")):
				j := bytes.Index(rest[4:], []byte("-->"))
				if j < 0 {
					return nil, d.errSyntax(i, "unterminated comment")
				}
				i += 4 + j + 3
			case bytes.HasPrefix(rest, []byte("<?")):
				j := bytes.Index(rest[2:], []byte("?>"))
				if j < 0 {
					return nil, d.errSyntax(i, "unterminated processing instruction")
				}
				i += 2 + j + 2
			default:
				return nil, d.errSyntax(i, "element inside <"+name+">")
			}
		default:
			j := i + 1
			for j < len(data) && data[j] != '&' && data[j] != '<' {
				j++
			}
			var err error
			if out, err = d.appendChars(out, i, j); err != nil {
				return nil, err
			}
			i = j
		}
	}
}

// appendChars appends data[i:j] to out, checking that each character is
// allowed in XML.
func (d *decoder) appendChars(out []byte, i, j int) ([]byte, error) {
	data := d.data
	for i < j {
		c := data[i]
		switch {
		case c >= 0x20 && c < 0x80 || c == '\t' || c == '\n' || c == '\r':
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(data[i:j])
			if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
				return nil, d.errSyntax(i, "invalid character in text")
			}
			out = append(out, data[i:i+n]...)
			i += n
		}
	}
	return out, nil
}

// reference appends the character that the reference at data[i] ('&')
// stands for and returns the offset after its ';'.
func (d *decoder) reference(out []byte, i int) ([]byte, int, error) {
	data := d.data
	j := i + 1
	for j < len(data) && j-i < 40 && data[j] != ';' {
		j++
	}
	if j >= len(data) || data[j] != ';' {
		return nil, 0, d.errSyntax(i, "malformed reference")
	}
	ref := data[i+1 : j]
	switch string(ref) {
	case "amp":
		return append(out, '&'), j + 1, nil
	case "lt":
		return append(out, '<'), j + 1, nil
	case "gt":
		return append(out, '>'), j + 1, nil
	case "apos":
		return append(out, '\''), j + 1, nil
	case "quot":
		return append(out, '"'), j + 1, nil
	}
	if len(ref) < 2 || ref[0] != '#' {
		return nil, 0, d.errSyntax(i, "unknown entity")
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return nil, 0, d.errSyntax(i, "malformed character reference")
	}
	var r rune
	for _, c := range digits {
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return nil, 0, d.errSyntax(i, "malformed character reference")
		}
		r = r*base + v
		if r > utf8.MaxRune {
			return nil, 0, d.errSyntax(i, "character reference out of range")
		}
	}
	if !isXMLChar(r) {
		return nil, 0, d.errSyntax(i, "character reference to a character XML forbids")
	}
	return utf8.AppendRune(out, r), j + 1, nil
}
