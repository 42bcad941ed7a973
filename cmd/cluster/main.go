// Command cluster runs the production topology on this machine without
// Docker: a Temporal server process (built from the server module in go.mod,
// Postgres persistence and visibility, all four services) and two
// `onboarding api` and two `onboarding worker` processes against it and one
// Postgres app database. `make cluster` runs it; Ctrl-C stops everything and
// keeps the databases, so the next start finds every onboarding again.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/csp-onboarding/onboarding/cluster"
	"github.com/csp-onboarding/onboarding/secret"
)

func main() {
	name := flag.String("name", "onboarding_cluster", "database name of the app; Temporal's are temporal_<name> and temporal_<name>_visibility")
	apis := flag.Int("apis", 2, "number of API processes")
	workers := flag.Int("workers", 2, "number of worker processes")
	pgURL := flag.String("postgres", envOr("CLUSTER_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"a Postgres role that may create databases (CLUSTER_POSTGRES_URL)")
	dir := flag.String("dir", "data/cluster", "folder for binaries, config and logs")
	fresh := flag.Bool("fresh", false, "drop the three databases first")
	flag.Parse()
	if err := run(*name, *apis, *workers, *pgURL, *dir, *fresh); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(name string, apis, workers int, pgURL, dir string, fresh bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := cluster.RepoRoot(".")
	if err != nil {
		return err
	}
	pg, err := cluster.ParsePostgres(pgURL)
	if err != nil {
		return err
	}
	dir = filepath.Join(root, dir)
	token, err := kept(dir, "admin-token", "ONBOARDING_ADMIN_TOKEN", func() string { return "csp_admin_" + randomHex(32) })
	if err != nil {
		return err
	}
	// Links and webhook secrets are sealed at rest with it: the same key on every start.
	key, err := kept(dir, "secret-key", "ONBOARDING_SECRET_KEY", secret.NewKey)
	if err != nil {
		return err
	}
	opts := cluster.Options{RepoRoot: root, Dir: dir, BinDir: filepath.Join(root, "bin"), Postgres: pg, Name: name,
		APIs: apis, Workers: workers, AdminToken: token, SecretKey: key, Progress: os.Stdout}
	if fresh {
		fmt.Println("==> Dropping the databases of", name)
		if err := cluster.DropDatabases(ctx, opts); err != nil {
			return err
		}
	}
	c, err := cluster.Up(ctx, opts)
	if c != nil {
		defer c.Down()
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe cluster is running.\n\n")
	for _, s := range c.APIs {
		fmt.Fprintf(&b, "  %-10s %s   (log %s)\n", s.Name, s.BaseURL(), s.LogFile)
	}
	for _, s := range c.Workers {
		fmt.Fprintf(&b, "  %-10s %s/readyz, /metrics   (log %s)\n", s.Name, s.BaseURL(), s.LogFile)
	}
	fmt.Fprintf(&b, "  %-10s %s  namespace %q   (log %s)\n", "temporal", c.Temporal.Frontend, c.Temporal.Namespace, c.Temporal.LogFile)
	fmt.Fprintf(&b, "  %-10s %s\n", "database", c.AppDatabaseURL)
	fmt.Fprintf(&b, "  %-10s %s   (saved in %s)\n\n", "admin", token, filepath.Join(dir, "admin-token"))
	fmt.Fprintf(&b, "Any API replica serves any request. Without SMTP_URL the e-mails stay in the outbox table.\nCtrl-C stops everything; the databases are kept (-fresh starts over).\n")
	fmt.Print(b.String())
	<-ctx.Done()
	fmt.Println("\n==> Stopping the APIs, the workers (gracefully) and Temporal")
	return nil
}

// kept is the value of the environment variable, or the one saved in dir,
// or a new one saved there, so a restart keeps it.
func kept(dir, file, env string, make func() string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	path := filepath.Join(dir, file)
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	v := make()
	return v, os.WriteFile(path, []byte(v+"\n"), 0o600)
}

func randomHex(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(buf)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
