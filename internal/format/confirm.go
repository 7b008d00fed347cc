package format

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Confirm prints question and " [y/N] " on errw and reads one line from
// in: true only for "y" or "yes" (any case). A nil in, an empty line or a
// read error is a no.
func Confirm(in io.Reader, errw io.Writer, question string) bool {
	fmt.Fprintf(errw, "%s [y/N] ", question)
	if in == nil {
		return false
	}
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
