package event

// maxDepth is the deepest nesting of objects and arrays jsontext accepts, so that the check
// below never accepts what jsontext rejects.
const maxDepth = 10000

// validValue moves past one JSON value at p.pos and reports whether it is valid I-JSON (the
// message is already known to be UTF-8); whitespace it meets between tokens sets p.spaced.
// It checks in one pass what raw used to find with skipValue and then check again with
// jsontext, which was a tenth of the decoder's time. It builds no errors: raw goes back over
// a value it rejects to say why.
func (p *parser) validValue(depth int) bool {
	if p.pos >= len(p.data) {
		return false
	}
	switch c := p.data[p.pos]; c {
	case '"':
		_, err := p.str()
		return err == nil
	case '{':
		return depth < maxDepth && p.validObject(depth+1)
	case '[':
		return depth < maxDepth && p.validArray(depth+1)
	case 't':
		return p.validLiteral("true")
	case 'f':
		return p.validLiteral("false")
	case 'n':
		return p.validLiteral("null")
	default:
		return p.validNumber()
	}
}

// space moves past whitespace, noting in p.spaced that there was some.
func (p *parser) space() {
	start := p.pos
	for p.pos < len(p.data) && (p.data[p.pos] == ' ' || p.data[p.pos] == '\t' || p.data[p.pos] == '\n' || p.data[p.pos] == '\r') {
		p.pos++
	}
	p.spaced = p.spaced || p.pos != start
}

// opened moves past an object's or array's opening byte and reports whether closing follows
// at once (the container is empty; p is then past it).
func (p *parser) opened(closing byte) (empty bool) {
	p.pos++
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == closing {
		p.pos++
		return true
	}
	return false
}

func (p *parser) validObject(depth int) bool {
	if p.opened('}') {
		return true
	}
	var small [24][]byte
	names := nameSet{small: small[:0]}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return false
		}
		name, err := p.str()
		if err != nil {
			return false
		}
		var dup bool
		if names, dup = names.add(name); dup {
			return false
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return false
		}
		p.pos++
		p.space()
		if ok, more := p.validMember(depth, '}'); !ok || !more {
			return ok
		}
	}
}

func (p *parser) validArray(depth int) bool {
	if p.opened(']') {
		return true
	}
	for {
		if ok, more := p.validMember(depth, ']'); !ok || !more {
			return ok
		}
	}
}

// validMember checks an element of an array or the value of an object member, and what
// follows it: a ',' (more come) or the closing byte.
func (p *parser) validMember(depth int, closing byte) (ok, more bool) {
	if !p.validValue(depth) {
		return false, false
	}
	p.space()
	if p.pos >= len(p.data) {
		return false, false
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.space()
		return true, true
	case closing:
		p.pos++
		return true, false
	}
	return false, false
}

func (p *parser) validLiteral(lit string) bool {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return false
	}
	p.pos += len(lit)
	return p.pos == len(p.data) || isDelimiter(p.data[p.pos])
}

// validNumber checks JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) validNumber() bool {
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for ; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for ; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	p.pos = i
	return i == len(d) || isDelimiter(d[i])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
