//go:build linux || darwin || freebsd || netbsd || openbsd

package azuresetup

import (
	"syscall"
	"unsafe"
)

// IsTerminal reports whether fd is a terminal (its terminal attributes
// can be read), so prompts and a progress line make sense.
func IsTerminal(fd uintptr) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlGetTermios, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
