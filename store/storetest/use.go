package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// CheckDeclaredUse holds a package to the rule that each file declares the
// small store interface it uses (docs/architecture.md): every call matched by
// uses (receiver and field of `receiver.field.Method(…)`) in a file of dir
// must be a method of an interface declared in that file, or in the
// package's store.go, whose interfaces any file may use. ifaces are the
// package's interfaces by name; the aggregate named Store is not one of them.
func CheckDeclaredUse(t *testing.T, dir string, uses func(receiver, field string) bool, ifaces map[string]reflect.Type) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	declared, calls := map[string][]string{}, map[string]map[string]token.Pos{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		calls[name] = map[string]token.Pos{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				if _, ok := n.Type.(*ast.InterfaceType); ok && strings.HasSuffix(n.Name.Name, "Store") && n.Name.Name != "Store" {
					if _, known := ifaces[n.Name.Name]; !known {
						t.Errorf("%s declares %s: add it to the test's interfaces", name, n.Name.Name)
					}
					declared[name] = append(declared[name], n.Name.Name)
				}
			case *ast.SelectorExpr:
				inner, ok := n.X.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				receiver := ""
				if id, ok := inner.X.(*ast.Ident); ok {
					receiver = id.Name
				}
				if uses(receiver, inner.Sel.Name) {
					calls[name][n.Sel.Name] = n.Pos()
				}
			}
			return true
		})
	}
	for name, methods := range calls {
		allowed := map[string]bool{}
		for _, iface := range append(declared[name], declared["store.go"]...) {
			typ := ifaces[iface]
			for i := range typ.NumMethod() {
				allowed[typ.Method(i).Name] = true
			}
		}
		for m, pos := range methods {
			if !allowed[m] {
				t.Errorf("%s calls the store's %s, which no interface declared in %s (or store.go) has", fset.Position(pos), m, name)
			}
		}
	}
}
