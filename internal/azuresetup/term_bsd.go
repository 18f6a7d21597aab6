//go:build darwin || freebsd || netbsd || openbsd

package azuresetup

import "syscall"

const ioctlGetTermios = syscall.TIOCGETA
