//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package azuresetup

// IsTerminal reports false where terminals are not detected: no prompts,
// plain progress lines.
func IsTerminal(fd uintptr) bool { return false }
