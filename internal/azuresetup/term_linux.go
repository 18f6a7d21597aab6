package azuresetup

import "syscall"

const ioctlGetTermios = syscall.TCGETS
