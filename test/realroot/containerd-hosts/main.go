// containerd-hosts prints the registry hosts containerd tries for a pull of an image from SOURCE,
// in order, as containerd's own resolver builds them from a certs.d directory
// (remotes/docker/config.ConfigureHosts, the code the CRI plugin runs with config_path): one line
// per host, "<scheme>://<host><path> <capabilities>". Used by test/realroot/prepare-node.bats to
// read the hosts.toml files prepare-node.sh writes the way containerd reads them.
//
// Usage: containerd-hosts <certs.d directory> <source registry>
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/remotes/docker/config"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: containerd-hosts <certs.d directory> <source registry>")
		os.Exit(2)
	}
	hosts := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(os.Args[1])})
	registries, err := hosts(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, r := range registries {
		var caps []string
		for _, c := range []struct {
			flag docker.HostCapabilities
			name string
		}{{docker.HostCapabilityPull, "pull"}, {docker.HostCapabilityResolve, "resolve"}, {docker.HostCapabilityPush, "push"}} {
			if r.Capabilities.Has(c.flag) {
				caps = append(caps, c.name)
			}
		}
		fmt.Printf("%s://%s%s %s\n", r.Scheme, r.Host, r.Path, strings.Join(caps, ","))
	}
}
