// A pod sandbox's process: holds the pod's namespaces open and does nothing else until the
// container runtime stops it (SIGTERM or SIGINT; SIGKILL needs no handling). As pid 1 of its pid
// namespace it is the init a pod with a shared pid namespace would have, so it reaps orphans.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	orphans := make(chan os.Signal, 1)
	signal.Notify(orphans, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-orphans:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
