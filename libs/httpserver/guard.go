package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/ratelimit"
)

// The routes the platform serves itself, outside the service's OpenAPI document:
// every other path the document does not describe is 404 before anything else, so
// that no handler ever sees a path its router cannot match (an empty id, an encoded
// slash) and answers it with a binding error that tells a stranger the route exists.
var (
	// publicRoutes need no token and are limited per client address: the document
	// and the reference rendered from it.
	publicRoutes = map[string]bool{"/openapi.yaml": true, "/docs": true, "/docs/redoc.standalone.js": true}
	// probeRoutes are for the orchestrator and Prometheus, which must never be
	// refused for asking too often.
	probeRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}
)

// limits are the per-caller token buckets of the platform (see config.Edge).
type limits struct {
	write, read, public *ratelimit.Limiter
	proxies             []netip.Prefix
}

func newLimits(e config.Edge) (*limits, error) {
	proxies, err := e.Proxies()
	if err != nil {
		return nil, err
	}
	l := &limits{proxies: proxies}
	// A zero rate is left unlimited: the services' configuration refuses to start
	// with one, so only a program that builds a Server by hand (a test) gets it.
	if e.WritePerSecond > 0 {
		l.write = ratelimit.New(e.WritePerSecond, max(e.WriteBurst, 1))
	}
	if e.ReadPerSecond > 0 {
		l.read = ratelimit.New(e.ReadPerSecond, max(e.ReadBurst, 1))
	}
	if e.PublicPerSecond > 0 {
		l.public = ratelimit.New(e.PublicPerSecond, max(e.PublicBurst, 1))
	}
	return l, nil
}

// publicRequest counts a request to an endpoint that needs no token against its
// client address, or, when it carries a valid token anyway (the portal acting for a
// signed-in person), against that caller as any other request of theirs is: so
// that everyone the portal serves does not share the portal's address.
func (l *limits) publicRequest(r *http.Request) error {
	if _, ok := ratelimit.Caller(r); ok {
		return l.callerRequest(r)
	}
	if l.public == nil {
		return nil
	}
	if ok, d := l.public.Allow(ratelimit.ClientAddr(r, l.proxies)); !ok {
		return ratelimit.Refusal("requests from this address", d)
	}
	return nil
}

// callerRequest counts an authenticated request against its caller, reads and
// writes apart: a tool polling its list must not use up its writes.
func (l *limits) callerRequest(r *http.Request) error {
	lim, what := l.write, "writes"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		lim, what = l.read, "reads"
	}
	if lim == nil {
		return nil
	}
	key, ok := ratelimit.Caller(r)
	if !ok {
		key = "addr|" + ratelimit.ClientAddr(r, l.proxies)
	}
	if ok, d := lim.Allow(key); !ok {
		return ratelimit.Refusal(what, d)
	}
	return nil
}

// unknownQuery refuses query parameters the operation does not declare: ignored,
// "status[$ne]=x" would return the unfiltered list its sender hoped for, and a
// misspelt filter would silently return everything.
func unknownQuery(route *routers.Route, r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	declared := map[string]*openapi3.Parameter{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = p.Value
			}
		}
	}
	query, counts, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.Field("query", "the query string is not well formed")
	}
	var problems, repeated []apperr.FieldProblem
	for _, name := range query {
		p := declared[name]
		if name == "" {
			name = "query"
		}
		switch {
		case p == nil:
			problems = append(problems, apperr.FieldProblem{Field: name, Message: "is not a query parameter of this operation"})
		case counts[name] > 1 && (p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is(openapi3.TypeArray)):
			// Which of two values was meant is the caller's to say: the generated
			// server refused it in a library's words, naming no field.
			repeated = append(repeated, apperr.FieldProblem{Field: name, Message: "must be given once"})
		}
	}
	if len(problems) == 0 && len(repeated) > 0 {
		return &apperr.Error{Code: apperr.Invalid, Field: repeated[0].Field, Fields: repeated, Message: repeated[0].Message}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
	names := make([]string, len(problems))
	for i, p := range problems {
		names[i] = strconv.Quote(p.Field)
	}
	return &apperr.Error{Code: apperr.Invalid, Field: problems[0].Field, Fields: problems,
		Message: "unknown query parameters " + strings.Join(names, ", ") + "; this operation takes only those its document declares"}
}

// parseQuery lists the distinct parameter names of a raw query, decoded, and how
// many times each is given.
func parseQuery(raw string) ([]string, map[string]int, error) {
	seen := map[string]int{}
	var names []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		decoded, err := url.QueryUnescape(name)
		if err != nil {
			return nil, nil, err
		}
		if seen[decoded] == 0 {
			names = append(names, decoded)
		}
		seen[decoded]++
	}
	return names, seen, nil
}

// mediaType refuses with 415 a body sent as something the operation does not take
// (JSON sent as text/plain, a form), so that no parser meant for another type ever
// reads it; and, through noBody, a body sent to an operation that takes none.
func mediaType(op *openapi3.Operation, r *http.Request) error {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return noBody(r)
	}
	if !hasBody(r) {
		return nil
	}
	content := op.RequestBody.Value.Content
	ct := r.Header.Get(echo.HeaderContentType)
	if content[ct] != nil {
		return nil // the common case, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && content.Get(mt) != nil {
		return nil
	}
	var takes []string
	for t := range content {
		takes = append(takes, t)
	}
	sort.Strings(takes)
	e := apperr.New(apperr.Unsupported, "the body must be sent as %s", strings.Join(takes, " or "))
	e.Field = "Content-Type"
	return e
}

// noBodyMessage is what a caller is told who sent a body to an operation that takes none.
const noBodyMessage = "this operation takes no body; send the request without one"

// bodyless returns whether a request is for an operation of doc that takes no body,
// for the body limit to refuse one over it as noBody refuses any (a path not in
// canonical form, or not in the document, is not: it gets the limit's 413).
func bodyless(doc *openapi3.T) (func(*http.Request) bool, error) {
	// doc has no servers (servedSpec): routes match on path alone, as the
	// validator's do.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI router: %w", err)
	}
	return func(r *http.Request) bool {
		if !canonical(r.URL) {
			return false
		}
		route, _, err := router.FindRoute(r)
		return err == nil && (route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil)
	}, nil
}

// noBody refuses with 400 a body sent to an operation whose document declares none:
// nothing would read it, and nothing a caller sends is silently ignored
// (docs/API.md), so {"confirm":true} sent with a submission is not taken as meaning
// something it does not. A body of white space alone, or an empty JSON object, says
// nothing and passes, since some clients send {} with every POST.
func noBody(r *http.Request) error {
	if !hasBody(r) {
		return nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	data = bytes.TrimSpace(data)
	if len(data) == 0 || (data[0] == '{' && data[len(data)-1] == '}' && len(bytes.TrimSpace(data[1:len(data)-1])) == 0) {
		return nil
	}
	return apperr.Field("body", noBodyMessage)
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// encoding refuses with 415 a body the API would have to translate before reading:
// compressed (any Content-Encoding but identity) or declared in a character set other
// than UTF-8. Read as if neither were said, either would be refused as "not JSON" or,
// worse, taken with its letters changed.
func encoding(r *http.Request) error {
	if !hasBody(r) {
		return nil
	}
	for _, v := range r.Header.Values(echo.HeaderContentEncoding) {
		for _, coding := range strings.Split(v, ",") {
			if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
				e := apperr.New(apperr.Unsupported, "this API takes no content-coding (the body was sent as %q); send the JSON uncompressed", c)
				e.Field = "Content-Encoding"
				return e
			}
		}
	}
	if _, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err == nil {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			e := apperr.New(apperr.Unsupported, "this API takes JSON in UTF-8 only (the body was declared as charset %q); send it as UTF-8, with charset=utf-8 or no charset", cs)
			e.Field = "Content-Type"
			return e
		}
	}
	return nil
}

// jsonText refuses a JSON body that is not the text it claims to be, before anything
// decodes it: bytes that are not UTF-8 (the decoder would turn each into U+FFFD and
// store "Caf\uFFFD"), JSON that does not parse (said where and how in words), a \u
// escape of half a surrogate pair, which is no character (decoded, U+FFFD again), and
// an object that names a key twice, at any depth. Go and the validator keep the last
// value and other parsers the first, so {"role":"lead","role":"ops"} could pass a
// check on one value and act on the other. It runs on every write, so it scans the
// bytes without decoding them.
func jsonText(r *http.Request) error {
	if !hasBody(r) {
		return nil
	}
	if ct := r.Header.Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON {
		if mt, _, _ := mime.ParseMediaType(ct); mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json") {
			return nil
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	if len(bytes.TrimSpace(data)) == 0 {
		// White space alone says nothing: no body (see noBody), or the validator's
		// "a body is required".
		return nil
	}
	if !utf8.Valid(data) {
		return apperr.Field("body", "must be UTF-8 text; byte %d is not UTF-8 (was the body written in another character set?)", invalidUTF8At(data)+1)
	}
	if !json.Valid(data) {
		var syntax *json.SyntaxError
		if err := json.Unmarshal(data, new(json.RawMessage)); errors.As(err, &syntax) {
			return apperr.Field("body", "%s", syntaxWords(data, syntax))
		}
		// Valid per the scanner yet refused: left for the validator to describe.
		return nil
	}
	// A body nested past maxScanDepth only ends the scan; the validator refuses it.
	sc := dupScanner{data: data}
	sc.value()
	problems := append(sc.unpaired, sc.out...)
	if len(problems) == 0 {
		return nil
	}
	e := apperr.Field(problems[0].Field, "%s", problems[0].Message)
	e.Fields = problems
	return e
}

// invalidUTF8At is the offset of the first byte of data that is not UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// syntaxWords says where a body stops being JSON (counting bytes from 1, as decoding
// errors do) and what was found there, in words:
// encoding/json's own message names its parser's states ("looking for beginning of
// object key string").
func syntaxWords(data []byte, e *json.SyntaxError) string {
	at := int(e.Offset) // the byte after the one refused
	if at >= len(data) && strings.Contains(e.Error(), "unexpected end") {
		return fmt.Sprintf("the body is not valid JSON: it ends at byte %d before its value is complete", len(data))
	}
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		return "the body is not valid JSON: it starts with a byte order mark; send the JSON without one"
	}
	if at > 0 {
		at--
	}
	found := "a character"
	switch {
	case at < len(data) && data[at] >= 0x20 && data[at] < 0x7f:
		found = strconv.QuoteRune(rune(data[at]))
	case at < len(data) && data[at] < 0x20:
		found = fmt.Sprintf("the control character U+%04X", data[at])
	}
	where := ""
	msg := e.Error()
	for _, w := range syntaxContexts {
		if strings.Contains(msg, w.state) {
			where = " " + w.words
			break
		}
	}
	return fmt.Sprintf("the body is not valid JSON: %s at byte %d%s", found, at+1, where)
}

// syntaxContexts translate the states encoding/json names into what the reader was
// expecting, most specific first.
var syntaxContexts = []struct{ state, words string }{
	{"looking for beginning of object key string", "where a field name in double quotes was expected"},
	{"looking for beginning of value", "where a value was expected"},
	{"after object key:value pair", `where "," or "}" was expected`},
	{"after object key", `where ":" was expected after a field name`},
	{"after array element", `where "," or "]" was expected`},
	{"after top-level value", "after the JSON value; the body must hold exactly one"},
	{"escape", `in an escape sequence (a backslash must be followed by one of " \ / b f n r t, or by u and four hexadecimal digits)`},
	{"in string literal", "inside a string, where control characters must be escaped"},
	{"in numeric literal", "in a number"},
	{"in literal", "in true, false or null"},
}

// maxScanDepth bounds the recursion of the duplicate-key scan. No document nests
// objects this deep; the schema validation refuses a body that does.
const maxScanDepth = 64

// dupScanner walks JSON text, recording each key an object names twice. It checks
// only as much of the syntax as it needs to find the keys, and stops at the first
// thing it cannot read.
type dupScanner struct {
	data []byte
	i    int
	path []segment
	out  []apperr.FieldProblem
	// unpaired lists each string holding half a surrogate pair.
	unpaired []apperr.FieldProblem
}

// segment is one step of the path to a value: an object's key or an array's index.
type segment struct {
	key   []byte
	index int
}

func (s *dupScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *dupScanner) value() bool {
	if len(s.path) > maxScanDepth {
		return false
	}
	s.space()
	if s.i >= len(s.data) {
		return false
	}
	switch s.data[s.i] {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		_, ok := s.str()
		return ok
	}
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return true
		}
		s.i++
	}
	return true
}

// str reads a string and returns what is between its quotes, still escaped. A \u
// escape of half a surrogate pair without its other half is recorded as unpaired.
func (s *dupScanner) str() ([]byte, bool) {
	start := s.i + 1
	high, bad := false, false // the last thing read was a high surrogate's escape
	for s.i = start; s.i < len(s.data); s.i++ {
		c := s.data[s.i]
		if c == '\\' && s.i+5 < len(s.data) && s.data[s.i+1] == 'u' {
			v, err := strconv.ParseUint(string(s.data[s.i+2:s.i+6]), 16, 16)
			if err == nil {
				switch {
				case v >= 0xDC00 && v <= 0xDFFF && high:
					high = false
				case v >= 0xDC00 && v <= 0xDFFF, high && v >= 0xD800 && v <= 0xDBFF:
					bad = true
				default:
					bad = bad || high
					high = v >= 0xD800 && v <= 0xDBFF
				}
				s.i += 5
				continue
			}
		}
		bad = bad || high
		high = false
		switch c {
		case '\\':
			s.i++
		case '"':
			s.i++
			if bad {
				s.unpaired = append(s.unpaired, apperr.FieldProblem{Field: s.field(),
					Message: "holds half of a UTF-16 surrogate pair (a \\u escape from D800 to DFFF) without its other half, which is no character; send the text as UTF-8"})
			}
			return s.data[start : s.i-1], true
		}
	}
	return nil, false
}

func (s *dupScanner) object() bool {
	s.i++
	var keys [][]byte
	var many map[string]bool // past a few keys, a set rather than a scan
	for first := true; ; first = false {
		s.space()
		if first && s.i < len(s.data) && s.data[s.i] == '}' {
			s.i++
			return true
		}
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return false
		}
		key, ok := s.str()
		if !ok {
			return false
		}
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			// "\u0072ole" is "role", and "role\x84" and "role\x85" are both "role\uFFFD":
			// compare keys as the decoder will read them.
			var decoded string
			if json.Unmarshal(s.data[s.i-len(key)-2:s.i], &decoded) != nil {
				return false
			}
			key = []byte(decoded)
		}
		dup := false
		if many != nil {
			dup = many[string(key)]
			many[string(key)] = true
		} else {
			for _, k := range keys {
				if bytes.Equal(k, key) {
					dup = true
					break
				}
			}
			if keys = append(keys, key); len(keys) > 16 {
				many = make(map[string]bool, 2*len(keys))
				for _, k := range keys {
					many[string(k)] = true
				}
			}
		}
		s.path = append(s.path, segment{key: key, index: -1})
		if dup {
			s.out = append(s.out, apperr.FieldProblem{Field: s.field(), Message: "appears more than once in its object; give each field once"})
		}
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value() {
			return false
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *dupScanner) array() bool {
	s.i++
	s.space()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		s.path = append(s.path, segment{index: n})
		if !s.value() {
			return false
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// field names the value at the current path as the validator does ("leader.email",
// "partners.0.name"); a key that is empty names nothing, so its object is named.
func (s *dupScanner) field() string {
	var b strings.Builder
	for _, seg := range s.path {
		if seg.index < 0 && len(seg.key) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if seg.index >= 0 {
			b.WriteString(strconv.Itoa(seg.index))
		} else {
			b.Write(seg.key)
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// canonical reports whether a request's path is written the one way a route is:
// no empty, "." or ".." segment, no trailing slash, no encoded slash, no control
// character. Any other spelling names no route (404), even where a lenient router
// would find one: an identifier never holds these, and a path that is read one way
// by a proxy and another by the service is how access rules get walked around.
func canonical(u *url.URL) bool {
	p := u.Path
	if p == "" || (p != "/" && path.Clean(p) != p) {
		return false
	}
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	return true
}
