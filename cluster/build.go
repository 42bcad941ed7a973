// Package cluster runs the production topology on one machine, without
// Docker: a Temporal server process built from the server module pinned in
// go.mod (Postgres persistence and SQL visibility, all four services), and
// `onboarding api` and `onboarding worker` processes against it and against
// one Postgres app database. `make cluster`, the cluster tests and
// `make bench BENCH_FLAGS=-cluster` use it.
//
// It imports nothing from the Temporal server: the server is a separate
// binary, exactly as a deployment runs it.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Binaries are the programs the topology runs.
type Binaries struct {
	TemporalServer string // go.temporal.io/server/cmd/server
	SQLTool        string // go.temporal.io/server/cmd/tools/sql (temporal-sql-tool)
	Onboarding     string // ./cmd/onboarding
}

// Build compiles the three programs into binDir with the module's own
// versions. Go's build cache makes a second build take seconds; `go build`
// leaves an up-to-date binary alone.
func Build(ctx context.Context, repoRoot, binDir string, progress io.Writer) (Binaries, error) {
	b := Binaries{
		TemporalServer: filepath.Join(binDir, "temporal-server"),
		SQLTool:        filepath.Join(binDir, "temporal-sql-tool"),
		Onboarding:     filepath.Join(binDir, "onboarding"),
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return b, err
	}
	for _, t := range []struct{ out, pkg, what string }{
		{b.Onboarding, "./cmd/onboarding", "onboarding"},
		{b.SQLTool, "go.temporal.io/server/cmd/tools/sql", "Temporal's SQL schema tool"},
		{b.TemporalServer, "go.temporal.io/server/cmd/server", "the Temporal server (the first build takes several minutes on 2 cores)"},
	} {
		start := time.Now()
		fmt.Fprintf(progress, "==> Building %s\n", t.what)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
		fmt.Fprintf(progress, "    built %s in %s\n", t.out, time.Since(start).Round(100*time.Millisecond))
	}
	return b, nil
}

// RepoRoot finds the module root above dir (the folder holding go.mod).
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}
