package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rbutton/rbutton/policy"
)

// A terms file is the UserTerms JSON of PROTOCOL.md section 20, written by
// a person. checkTermsFile finds every mistake in one pass and says, for
// each, where it is (line and column), what the bad value is and the nearest
// valid one, so that one edit fixes them all. policy.ParseUserTerms stays
// the authority: a file this check passes is still parsed by it.

// termsProblem is one mistake in a terms file.
type termsProblem struct {
	Line, Col int
	Msg       string
}

func (p termsProblem) String() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg) }

// jsonNode is a JSON value with the byte offset where it starts.
type jsonNode struct {
	off     int
	kind    string // "object", "array", "string", "number", "boolean", "null"
	str     string
	raw     string // the value as written, for messages
	members []jsonMember
	elems   []*jsonNode
}

type jsonMember struct {
	key    string
	keyOff int
	val    *jsonNode
}

// termsField describes one member of the UserTerms shape.
type termsField struct {
	name     string
	kind     string   // "version", "preset", "enum", "enums", "retention", "object"
	values   []string // for enum and enums
	what     string   // "a tracking value", for messages
	children []termsField
	optional bool
}

func ladder[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

var userTermsShape = []termsField{
	{name: "v", kind: "version"},
	{name: "preset", kind: "preset", optional: true},
	{name: "terms", kind: "object", children: []termsField{
		{name: policy.DimTracking, kind: "enum", values: ladder(policy.TrackingLadder), what: "tracking value"},
		{name: policy.DimPurposes, kind: "enums", values: ladder(policy.PurposeLadder), what: "purpose"},
		{name: policy.DimSharing, kind: "enum", values: ladder(policy.SharingLadder), what: "sharing value"},
		{name: policy.DimRetention, kind: "retention"},
		{name: policy.DimIdentity, kind: "enum", values: ladder(policy.IdentityLadder), what: "identity value"},
		{name: policy.DimContact, kind: "enum", values: ladder(policy.ContactLadder), what: "contact value"},
	}},
	{name: "obligations", kind: "object", children: []termsField{
		{name: policy.DimAccess, kind: "enum", values: ladder(policy.LevelLadder), what: "level"},
		{name: policy.DimDeletion, kind: "enum", values: ladder(policy.LevelLadder), what: "level"},
		{name: policy.DimDataReturn, kind: "enum", values: ladder(policy.LevelLadder), what: "level"},
	}},
}

// checkTermsFile returns every mistake in b, in file order; none when b is
// valid UserTerms.
func checkTermsFile(b []byte) []termsProblem {
	c := &termsChecker{b: b}
	if !utf8.Valid(b) {
		c.add(0, "the file is not UTF-8 text")
		return c.problems
	}
	var any any
	if err := json.Unmarshal(b, &any); err != nil {
		c.syntax(err)
		return c.problems
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	root, err := c.parse(dec)
	if err != nil {
		c.add(0, "cannot read the JSON: "+err.Error())
		return c.problems
	}
	c.object(root, "", userTermsShape)
	if len(c.problems) == 0 {
		// The authority; its error names the member's path.
		if _, err := policy.ParseUserTerms(b); err != nil {
			c.add(c.offsetOf(root, err.Error()), err.Error())
		}
	}
	sort.SliceStable(c.problems, func(i, j int) bool {
		pi, pj := c.problems[i], c.problems[j]
		return pi.Line < pj.Line || pi.Line == pj.Line && pi.Col < pj.Col
	})
	return c.problems
}

type termsChecker struct {
	b        []byte
	problems []termsProblem
}

func (c *termsChecker) add(off int, msg string) {
	line, col := 1, 1
	for _, r := range string(c.b[:min(off, len(c.b))]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	c.problems = append(c.problems, termsProblem{Line: line, Col: col, Msg: msg})
}

// syntax reports a JSON syntax error where it is, with a plain-words hint
// for the usual slips.
func (c *termsChecker) syntax(err error) {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			c.add(int(te.Offset), err.Error())
			return
		}
		c.add(len(c.b), "the JSON ends too early: a closing } or ] or \" is missing")
		return
	}
	off := int(se.Offset) - 1
	if off < 0 {
		off = 0
	}
	msg := "invalid JSON: " + strings.TrimPrefix(se.Error(), "json: ")
	prev := bytes.TrimRight(c.b[:min(off, len(c.b))], " \t\r\n")
	switch {
	case off < len(c.b) && (c.b[off] == '}' || c.b[off] == ']') && bytes.HasSuffix(prev, []byte(",")):
		msg = fmt.Sprintf("invalid JSON: a comma before %q (JSON allows no trailing comma): remove it", c.b[off])
		off = len(prev) - 1
	case off < len(c.b) && c.b[off] == '\'':
		msg = "invalid JSON: strings take double quotes (\"…\"), not single quotes"
	case off >= len(c.b):
		msg = "the JSON ends too early: a closing } or ] or \" is missing"
	}
	c.add(off, msg)
}

// parse reads one value with its position. dec.InputOffset before a token
// is where the previous one ended; the token starts after the blanks and
// separators that follow.
func (c *termsChecker) parse(dec *json.Decoder) (*jsonNode, error) {
	off := c.skip(int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &jsonNode{off: off}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n.kind = "object"
			for dec.More() {
				keyOff := c.skip(int(dec.InputOffset()))
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := c.parse(dec)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jsonMember{key: k.(string), keyOff: keyOff, val: v})
			}
		} else {
			n.kind = "array"
			for dec.More() {
				v, err := c.parse(dec)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.kind, n.str = "string", t
	case json.Number:
		n.kind = "number"
	case bool:
		n.kind = "boolean"
	default:
		n.kind = "null"
	}
	end := int(dec.InputOffset())
	n.raw = string(c.b[off:max(off, min(end, len(c.b)))])
	if len(n.raw) > 60 {
		n.raw = n.raw[:57] + "…"
	}
	return n, nil
}

func (c *termsChecker) skip(off int) int {
	for off < len(c.b) && strings.IndexByte(" \t\r\n:,", c.b[off]) >= 0 {
		off++
	}
	return off
}

func (c *termsChecker) object(n *jsonNode, path string, shape []termsField) {
	if n.kind != "object" {
		c.add(n.off, fmt.Sprintf("%s must be an object {…}, not %s %s", orRoot(path), article(n.kind), n.raw))
		return
	}
	names := make([]string, len(shape))
	for i, f := range shape {
		names[i] = f.name
	}
	seen := map[string]bool{}
	for _, m := range n.members {
		p := joinPath(path, m.key)
		if seen[m.key] {
			c.add(m.keyOff, fmt.Sprintf("%s appears twice; keep one", p))
			continue
		}
		seen[m.key] = true
		var f *termsField
		for i := range shape {
			if shape[i].name == m.key {
				f = &shape[i]
			}
		}
		if f == nil {
			c.add(m.keyOff, fmt.Sprintf("unknown member %q%s; did you mean %q?", m.key, inWhere(path), nearest(m.key, names)))
			continue
		}
		c.value(m.val, p, *f)
	}
	for _, f := range shape {
		if !seen[f.name] && !f.optional {
			c.add(n.off, fmt.Sprintf("%s is missing%s", joinPath(path, f.name), example(f)))
		}
	}
}

func (c *termsChecker) value(n *jsonNode, path string, f termsField) {
	switch f.kind {
	case "object":
		c.object(n, path, f.children)
	case "version":
		if n.kind != "number" || n.raw != "1" {
			c.add(n.off, fmt.Sprintf("%s is %s; it must be the number 1", path, n.raw))
		}
	case "preset":
		if n.kind != "string" {
			c.add(n.off, fmt.Sprintf("%s must be a string, not %s %s", path, article(n.kind), n.raw))
		} else if utf8.RuneCountInString(n.str) > 64 {
			c.add(n.off, fmt.Sprintf("%s is longer than 64 characters", path))
		}
	case "enum":
		c.enum(n, path, f)
	case "enums":
		if n.kind != "array" {
			c.add(n.off, fmt.Sprintf("%s must be a list like [\"service\"], not %s %s", path, article(n.kind), n.raw))
			return
		}
		if len(n.elems) == 0 {
			c.add(n.off, fmt.Sprintf("%s is empty; it needs at least %q", path, f.values[0]))
		}
		seen := map[string]bool{}
		for i, e := range n.elems {
			p := fmt.Sprintf("%s[%d]", path, i)
			if e.kind == "string" && seen[e.str] {
				c.add(e.off, fmt.Sprintf("%s: %q is listed twice; keep one", p, e.str))
				continue
			}
			seen[e.str] = true
			c.enum(e, p, f)
		}
	case "retention":
		if n.kind != "string" {
			c.add(n.off, fmt.Sprintf("%s must be a string like \"P30D\", not %s %s", path, article(n.kind), n.raw))
			return
		}
		if _, err := policy.ParseRetention(n.str); err != nil {
			c.add(n.off, fmt.Sprintf("%s: %q is not a retention; did you mean %q? (none, session, indefinite, or an ISO 8601 duration like P30D, P6M, P1Y)",
				path, n.str, nearestRetention(n.str)))
		}
	}
}

func (c *termsChecker) enum(n *jsonNode, path string, f termsField) {
	if n.kind != "string" {
		c.add(n.off, fmt.Sprintf("%s must be a string, one of %s; not %s %s", path, strings.Join(f.values, ", "), article(n.kind), n.raw))
		return
	}
	for _, v := range f.values {
		if n.str == v {
			return
		}
	}
	c.add(n.off, fmt.Sprintf("%s: %q is not a %s; did you mean %q? (valid: %s)", path, n.str, f.what, nearest(n.str, f.values), strings.Join(f.values, ", ")))
}

// offsetOf finds where the member an error message from policy names (its
// leading path, like "terms.retention") starts; the root when not found.
func (c *termsChecker) offsetOf(root *jsonNode, msg string) int {
	path, _, _ := strings.Cut(msg, ":")
	n := root
	for _, key := range strings.Split(path, ".") {
		next := (*jsonNode)(nil)
		for _, m := range n.members {
			if m.key == key {
				next = m.val
			}
		}
		if next == nil {
			return n.off
		}
		n = next
	}
	return n.off
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func inWhere(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "null":
		return "null:"
	}
	return "a " + kind
}

func example(f termsField) string {
	switch f.kind {
	case "enum":
		return fmt.Sprintf(" (one of %s)", strings.Join(f.values, ", "))
	case "enums":
		return fmt.Sprintf(" (a list of %s)", strings.Join(f.values, ", "))
	case "retention":
		return ` (like "P30D")`
	case "version":
		return " (it must be 1)"
	}
	return ""
}

// nearest returns the candidate closest to s by edit distance (ties: the
// first).
func nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// nearestRetention guesses the retention meant: "p30d", "30d", "30 D" →
// "P30D"; a misspelt word → the nearest of none, session, indefinite.
func nearestRetention(s string) string {
	up := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	for _, guess := range []string{up, "P" + up} {
		if _, err := policy.ParseRetention(guess); err == nil && guess != "" {
			return guess
		}
	}
	words := []string{string(policy.RetentionNone), string(policy.RetentionSession), string(policy.RetentionIndefinite)}
	if w := nearest(s, words); editDistance(strings.ToLower(s), w) <= len(w)/2 {
		return w
	}
	return "P30D"
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
