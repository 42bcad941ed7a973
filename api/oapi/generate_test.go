package oapi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the server from the document with
// the pinned tool and compares it with the committed file.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	config, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "server.gen.go")
	// The same configuration, writing elsewhere.
	tmpConfig := filepath.Join(t.TempDir(), "config.yaml")
	rewritten := strings.Replace(string(config), "output: server.gen.go", "output: "+fresh, 1)
	if rewritten == string(config) {
		t.Fatal("config.yaml no longer says output: server.gen.go")
	}
	if err := os.WriteFile(tmpConfig, []byte(rewritten), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", tmpConfig, "../openapi.yaml")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("server.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("api/oapi/server.gen.go is stale: api/openapi.yaml or config.yaml changed without `make generate`")
	}
}
