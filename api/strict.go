package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// The document's validator matches property names exactly and lets unknown
// ones through, while the generated binder (encoding/json) matches them in
// any case: {"consent": {"METHOD": "x"}} would pass the first and set the
// method in the second. strictBody closes that gap: a body may hold only
// the properties its schema names, spelled exactly so, and no text in it
// may hold control characters (a NUL, for one, is refused by Postgres after
// the request was accepted). Then what the handlers bind is what was
// validated.

// strictBody checks a JSON body that the document's validation accepted.
func strictBody(req *http.Request, op *specOperation) error {
	body := op.route.Operation.RequestBody
	if body == nil || body.Value == nil {
		return nil
	}
	mt := body.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return problem(http.StatusBadRequest, CodeValidationFailed, "could not read the request body")
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		return problem(http.StatusBadRequest, CodeValidationFailed, "the body is not valid JSON: "+err.Error())
	}
	var fields []FieldError
	checkStrict(v, mt.Schema.Value, nil, &fields)
	if len(fields) == 0 {
		return nil
	}
	return validationProblem(fields)
}

func checkStrict(v any, s *openapi3.Schema, path []string, fields *[]FieldError) {
	switch val := v.(type) {
	case string:
		if badText(val) {
			*fields = append(*fields, FieldError{Field: fieldPath(path), Message: "must not contain control characters"})
		}
	case []any:
		var items *openapi3.Schema
		if s != nil && s.Items != nil {
			items = s.Items.Value
		}
		for i, item := range val {
			checkStrict(item, items, append(path, strconv.Itoa(i)), fields)
		}
	case map[string]any:
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(append([]string(nil), path...), k)
			if badText(k) {
				*fields = append(*fields, FieldError{Field: fieldPath(path), Message: "has a property name with control characters"})
				continue
			}
			prop, known := property(s, k)
			if !known {
				*fields = append(*fields, FieldError{Field: fieldPath(p), Message: "is not a field of this request (names are case-sensitive)"})
				continue
			}
			checkStrict(val[k], prop, p, fields)
		}
	}
}

// property finds a property's schema by its exact name; known is false for
// a name the schema does not allow.
func property(s *openapi3.Schema, name string) (prop *openapi3.Schema, known bool) {
	if s == nil {
		return nil, false
	}
	if ref, ok := s.Properties[name]; ok {
		return ref.Value, true
	}
	for _, all := range s.AllOf {
		if p, ok := property(all.Value, name); ok {
			return p, true
		}
	}
	if ap := s.AdditionalProperties; ap.Schema != nil {
		return ap.Schema.Value, true
	} else if ap.Has != nil && *ap.Has {
		return nil, true
	}
	return nil, false
}

// badText: control characters but newline and tab (and CR directly before a
// newline), invisible formatting characters, and invalid UTF-8.
func badText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return true
		}
	}
	return false
}
