package event

// maxDepth is the deepest nesting of objects and arrays jsontext accepts, so that the check
// below never accepts what jsontext rejects.
const maxDepth = 10000

// validValue moves past one JSON value at p.pos and reports whether it is valid I-JSON (the
// message is already known to be UTF-8) and whether whitespace sits inside it. It checks in
// one pass what raw used to find with skipValue and then check again with jsontext, which
// was a tenth of the decoder's time. It builds no errors: raw goes back over a value it
// rejects to say why.
func (p *parser) validValue(depth int) (ok, spaced bool) {
	if p.pos >= len(p.data) {
		return false, false
	}
	switch c := p.data[p.pos]; c {
	case '"':
		_, err := p.str()
		return err == nil, false
	case '{', '[':
		if depth == maxDepth {
			return false, false
		}
		if c == '{' {
			return p.validObject(depth + 1)
		}
		return p.validArray(depth + 1)
	case 't':
		return p.validLiteral("true"), false
	case 'f':
		return p.validLiteral("false"), false
	case 'n':
		return p.validLiteral("null"), false
	default:
		return p.validNumber(), false
	}
}

// space moves past whitespace and reports whether there was any.
func (p *parser) space() bool {
	start := p.pos
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return p.pos != start
		}
	}
	return p.pos != start
}

func (p *parser) validObject(depth int) (ok, spaced bool) {
	p.pos++ // '{'
	spaced = p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return true, spaced
	}
	var small [24][]byte
	names := nameSet{small: small[:0]}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return false, false
		}
		name, err := p.str()
		if err != nil {
			return false, false
		}
		var dup bool
		if names, dup = names.add(name); dup {
			return false, false
		}
		spaced = p.space() || spaced
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return false, false
		}
		p.pos++
		spaced = p.space() || spaced
		ok, more, s := p.validMember(depth, '}')
		if !ok || !more {
			return ok, ok && (s || spaced)
		}
		spaced = s || spaced
	}
}

func (p *parser) validArray(depth int) (ok, spaced bool) {
	p.pos++ // '['
	spaced = p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return true, spaced
	}
	for {
		ok, more, s := p.validMember(depth, ']')
		if !ok || !more {
			return ok, ok && (s || spaced)
		}
		spaced = s || spaced
	}
}

// validMember checks an element of an array or the value of an object member, and what
// follows it: a ',' (more come) or the closing byte.
func (p *parser) validMember(depth int, closing byte) (ok, more, spaced bool) {
	ok, spaced = p.validValue(depth)
	if !ok {
		return false, false, false
	}
	spaced = p.space() || spaced
	if p.pos >= len(p.data) {
		return false, false, false
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return true, true, p.space() || spaced
	case closing:
		p.pos++
		return true, false, spaced
	}
	return false, false, false
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
