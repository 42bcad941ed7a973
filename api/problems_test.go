package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/api/oapi"
)

// TestProblemCodesAreDocumented: the ProblemCode enum of api/openapi.yaml is
// the one list of problem codes. Every documented code has a title (and so a
// /rules/{code} page), every titled code is documented, and no code is
// written as a bare string where a problem or a rule violation is made: the
// handlers and rules use the generated oapi.ProblemCode constants.
func TestProblemCodesAreDocumented(t *testing.T) {
	var documented []oapi.ProblemCode
	for _, v := range spec.Components.Schemas["ProblemCode"].Value.Enum {
		code := oapi.ProblemCode(v.(string))
		documented = append(documented, code)
		if !code.Valid() {
			t.Errorf("%s is documented but not generated: run make generate", code)
		}
		if titles[code] == "" {
			t.Errorf("%s is documented but has no title", code)
		}
	}
	for code := range titles {
		if !slices.Contains(documented, code) {
			t.Errorf("%s has a title but is not in the spec's ProblemCode", code)
		}
	}
	for code := range RuleDescriptions {
		if !slices.Contains(documented, code) {
			t.Errorf("%s has a description but is not in the spec's ProblemCode", code)
		}
	}

	// A bare string converts to oapi.ProblemCode silently: look for one
	// where problems and violations are made.
	for _, dir := range []string{".", "../rules"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fs := token.NewFileSet()
			f, err := parser.ParseFile(fs, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				var lit ast.Expr
				switch n := n.(type) {
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "problem" && len(n.Args) > 1 {
						lit = n.Args[1]
					}
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok && strings.EqualFold(id.Name, "code") {
						lit = n.Value
					}
				}
				if b, ok := lit.(*ast.BasicLit); ok && b.Kind == token.STRING {
					t.Errorf("%s: problem code %s written as a string; use the oapi.ProblemCode constant", fs.Position(b.Pos()), b.Value)
				}
				return true
			})
		}
	}
}
