package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthroughs runs the README's walkthroughs as a newcomer does:
// every ```sh block of the "Walkthrough" sections, verbatim and in order, in
// one bash, against a fresh `onboarding dev` (its own data dir and ports).
// A command that fails, an answer that is a problem, or an answer that lacks
// what its `# →` comment promises fails the test: the README cannot drift.
func TestReadmeWalkthroughs(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README walkthroughs need %s (make test installs jq): %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(string(readme))
	if len(blocks) < 4 {
		t.Fatalf("found %d walkthrough sh blocks in README.md, want the invitation, extension, tenant request and delegated admin ones", len(blocks))
	}
	var cmds []shellCommand
	for _, b := range blocks {
		cmds = append(cmds, splitCommands(b)...)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "onboarding")
	build := exec.Command("go", "build", "-o", bin, "./cmd/onboarding")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base := startDev(t, bin, dir)

	// Markers between the commands tell which output is whose.
	var script strings.Builder
	script.WriteString("set -e -o pipefail\n")
	for i, c := range cmds {
		fmt.Fprintf(&script, "printf '\\n@@command %d@@\\n'\n%s\n", i, c.text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = dir // the walkthrough reads data/admin-token
	sh.Env = append(os.Environ(), "B="+base)
	out, runErr := sh.CombinedOutput()
	outputs := map[int]string{}
	last := -1
	for _, line := range strings.Split(string(out), "\n") {
		if m := marker.FindStringSubmatch(line); m != nil {
			last, _ = strconv.Atoi(m[1])
			continue
		}
		if last >= 0 {
			outputs[last] += line + "\n"
		}
	}
	if runErr != nil {
		t.Fatalf("the walkthrough stopped at command %d:\n%s\n--- its output:\n%s\n(%v)", last, cmds[max(last, 0)].text, outputs[last], runErr)
	}
	if last != len(cmds)-1 {
		t.Fatalf("ran %d of %d commands", last+1, len(cmds))
	}
	for i, c := range cmds {
		got := outputs[i]
		if problemAnswer.MatchString(got) && !strings.Contains(c.expect, "problem") {
			t.Errorf("command %d answered a problem:\n%s\n--- output:\n%s", i, c.text, got)
		}
		if c.expect == "" {
			continue
		}
		if want := leadingStatus.FindStringSubmatch(c.expect); want != nil && strings.HasPrefix(strings.TrimSpace(got), "HTTP/") {
			if !strings.Contains(strings.SplitN(strings.TrimSpace(got), "\n", 2)[0], " "+want[1]) {
				t.Errorf("command %d: want HTTP %s (# → %s), got:\n%s", i, want[1], c.expect, got)
			}
		}
		for _, word := range c.promised() {
			if !strings.Contains(got, word) {
				t.Errorf("command %d: the README promises %s (# → %s), the answer lacks it:\n%s\n--- output:\n%s", i, word, c.expect, c.text, got)
			}
		}
	}
	t.Logf("ran %d commands of %d README blocks", len(cmds), len(blocks))
}

var (
	marker        = regexp.MustCompile(`^@@command (\d+)@@$`)
	problemAnswer = regexp.MustCompile(`"code":\s*"[a-z-]+"[^}]*"title"|"title"[^}]*"code":\s*"[a-z-]+"`)
	leadingStatus = regexp.MustCompile(`^(\d{3})\b`)
	quoted        = regexp.MustCompile(`"[^"]*"`)
)

// shellCommand is one command of a block, with what its `# →` comment promises.
type shellCommand struct {
	text, expect string
}

// promised are the quoted words of the expectation, up to a parenthesis (an
// aside for the reader), each to be found in the answer.
func (c shellCommand) promised() []string {
	e := c.expect
	if i := strings.Index(e, "("); i >= 0 {
		e = e[:i]
	}
	return quoted.FindAllString(e, -1)
}

// walkthroughBlocks are the ```sh blocks of the sections titled "Walkthrough…".
func walkthroughBlocks(readme string) []string {
	var blocks []string
	var cur *strings.Builder
	inWalkthrough := false
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			inWalkthrough = strings.HasPrefix(line, "## Walkthrough")
		case inWalkthrough && line == "```sh":
			cur = &strings.Builder{}
		}
	}
	return blocks
}

// splitCommands splits a block into top-level commands: lines joined while a
// quote is open or a line ends in a backslash. A trailing `# → …` comment,
// or a `# → …` line right after, is the command's expectation.
func splitCommands(block string) []shellCommand {
	var cmds []shellCommand
	var cur []string
	var quote rune
	for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if len(cur) == 0 && quote == 0 {
			if strings.HasPrefix(trimmed, "# →") && len(cmds) > 0 {
				cmds[len(cmds)-1].expect = strings.TrimSpace(strings.TrimPrefix(trimmed, "# →"))
				continue
			}
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
		}
		cur = append(cur, line)
		comment := -1
		escaped := false
		for i, r := range line {
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quote != '\'':
				escaped = true
			case quote == 0 && (r == '"' || r == '\''):
				quote = r
			case quote != 0 && r == quote:
				quote = 0
			case quote == 0 && r == '#' && comment < 0 && (i == 0 || line[i-1] == ' '):
				comment = i
			}
			if comment >= 0 {
				break
			}
		}
		continued := quote == 0 && comment < 0 && strings.HasSuffix(line, "\\")
		if quote != 0 || continued {
			continue
		}
		c := shellCommand{text: strings.Join(cur, "\n")}
		if comment >= 0 {
			if e, ok := strings.CutPrefix(strings.TrimSpace(line[comment:]), "# →"); ok {
				c.expect = strings.TrimSpace(e)
			}
		}
		cmds = append(cmds, c)
		cur = nil
	}
	return cmds
}

// startDev runs `onboarding dev` in dir on free ports, as `make run` would,
// and returns its base URL once it is ready.
func startDev(t *testing.T, bin, dir string) string {
	t.Helper()
	httpPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	base := "http://127.0.0.1:" + httpPort
	cmd := exec.Command(bin, "dev")
	cmd.Dir = dir
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(),
		"ONBOARDING_HTTP_ADDR=127.0.0.1:"+httpPort, "PUBLIC_BASE_URL="+base,
		"ONBOARDING_DATA_DIR="+filepath.Join(dir, "data"),
		"TEMPORAL_ADDRESS=127.0.0.1:"+temporalPort, "TEMPORAL_UI_PORT="+uiPort,
		"DATABASE_URL=", "SMTP_URL=", "ONBOARDING_ADMIN_TOKEN=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("onboarding dev's log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("onboarding dev was not ready within 90s:\n%s", logs.String())
	return ""
}
