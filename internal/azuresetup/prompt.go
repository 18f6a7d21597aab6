package azuresetup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// prompter asks the person at the terminal.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	if in == nil {
		return nil
	}
	return &prompter{in: bufio.NewReader(in), out: out}
}

func (p *prompter) line(q string) (string, error) {
	fmt.Fprint(p.out, q)
	s, err := p.in.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || s == "") {
		return "", fmt.Errorf("no answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

// choose asks for one of options by number (1-based); it returns the
// index.
func (p *prompter) choose(q string, options []string) (int, error) {
	for i, o := range options {
		fmt.Fprintf(p.out, "  %2d) %s\n", i+1, o)
	}
	for range 5 {
		ans, err := p.line(fmt.Sprintf("%s [1-%d]: ", q, len(options)))
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		fmt.Fprintf(p.out, "Type a number from 1 to %d.\n", len(options))
	}
	return 0, errors.New("no valid choice made")
}

// confirm asks a yes/no question; only "y" or "yes" is yes.
func (p *prompter) confirm(q string) (bool, error) {
	ans, err := p.line(q + " [y/N]: ")
	if err != nil {
		return false, err
	}
	ans = strings.ToLower(ans)
	return ans == "y" || ans == "yes", nil
}
