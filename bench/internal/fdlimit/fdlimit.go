// Package fdlimit raises the process's open-file limit for the bench
// programs, which hold 10,000 connections and more.
package fdlimit

import "syscall"

// Raise lifts RLIMIT_NOFILE to want, or to the hard limit when want is
// above it and the process may not raise the hard limit, and returns the
// soft limit in effect (0 when it cannot be read).
func Raise(want uint64) uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	if r.Max < want {
		try := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			return want
		}
	}
	r.Cur = min(r.Max, max(want, r.Cur))
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	return r.Cur
}
