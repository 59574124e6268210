// Package cpuprof starts the whole-run CPU profile the bench servers write
// with -cpuprofile.
package cpuprof

import (
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
)

// Start starts a CPU profile written to path and returns the function that
// stops it and closes the file; with an empty path it does nothing.
func Start(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	// CPUPROF_HZ raises the sampling rate (default 100 Hz) for short runs.
	if hz, err := strconv.Atoi(os.Getenv("CPUPROF_HZ")); err == nil && hz > 0 {
		runtime.SetCPUProfileRate(hz)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
