package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/pipeline"
)

// stateVerify prints every invariant of the state_dir; exit 0 when all
// hold, 1 when one does not.
func stateVerify(cfg *config.Config, stdout, stderr io.Writer) int {
	c, err := pipeline.Verify(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state verify: %v\n", err)
		return exitRuntime
	}
	defer c.Close()
	printFindings(stdout, c.Findings)
	if !c.OK() {
		fmt.Fprintln(stdout, "\nThe state is damaged: the agent refuses to start on it. Restore state_dir from a backup, or run `auditfwd state repair` to do what is listed under \"repair:\".")
		return exitRuntime
	}
	fmt.Fprintln(stdout, "\nThe state is consistent.")
	return exitOK
}

// stateRepair does what verify lists under "repair:", after asking on a
// terminal (unless --yes), and says what it could not do.
func stateRepair(cfg *config.Config, yes bool, stdout, stderr io.Writer) int {
	c, err := pipeline.Verify(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state repair: %v\n", err)
		return exitRuntime
	}
	defer c.Close()
	printFindings(stdout, c.Findings)
	if c.OK() {
		fmt.Fprintln(stdout, "\nNothing to repair: the state is consistent.")
		return exitOK
	}
	if !yes && isTerminal(os.Stdin) {
		fmt.Fprint(stderr, "\nDo every repair listed above? [y/N] ")
		answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr, "auditfwd state repair: nothing changed")
			return exitUsage
		}
	}
	done, err := c.Repair()
	fmt.Fprintln(stdout)
	for _, d := range done {
		fmt.Fprintf(stdout, "repaired %s\n", d)
	}
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state repair: %v (the repairs above were done)\n", err)
		return exitRuntime
	}
	for _, f := range c.Findings {
		if !f.OK && f.Repair == "" {
			fmt.Fprintf(stdout, "not repaired %s: %s (restore state_dir from a backup)\n", f.What, f.Detail)
			return exitRuntime
		}
	}
	fmt.Fprintln(stdout, "The agent can start again.")
	return exitOK
}

func printFindings(w io.Writer, fs []pipeline.Finding) {
	for _, f := range fs {
		mark := "ok  "
		if !f.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, f.What, f.Detail)
		if !f.OK && f.Repair != "" {
			fmt.Fprintf(w, "     repair: %s\n", f.Repair)
		}
	}
}
