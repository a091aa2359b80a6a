// containerd-hosts prints the registry hosts containerd tries for a pull of an image from SOURCE,
// in order, as containerd's own resolver builds them from a certs.d directory
// (remotes/docker/config.ConfigureHosts, the code the CRI plugin runs with config_path): one line
// per host, "<scheme>://<host><path> <capabilities>", then what containerd resolved for that host
// beyond the defaults:
//
//	ca=[<subject>]...        each certificate its `ca` file added to the system pool (the pool
//	                         updateTLSConfigFromHost builds: x509.SystemCertPool + AppendCertsFromPEM)
//	auth=basic(<user>:<pw>)  the Authorization header its `header` table sends with each request
//	                         (docker/resolver.go dockerBase.request copies host.Header into it)
//	skip_verify              the host's client does not verify the server's certificate
//	                         (tls.Config.InsecureSkipVerify, from hosts.toml `skip_verify = true`)
//	http-fallback            the host's client retries a failed TLS handshake as plain HTTP
//	                         (docker.NewHTTPFallback: an http:// host with TLS settings)
//	tls=trusted|untrusted|not-verified
//	                         with -server-cert: whether a server presenting that certificate under
//	                         the host's name passes the TLS verification of the host's client
//	                         (crypto/tls verifies with the transport's RootCAs, nil = system roots;
//	                         not-verified: skip_verify accepts any certificate)
//
// Used by test/realroot/prepare-node.bats to read the hosts.toml files prepare-node.sh writes the
// way containerd reads them. -containerd picks the reader: 1.7 (v1.7.29, the containerd.io line
// the program installs where the distribution's is too old for Kubernetes 1.35) or 2.2 (v2.2.0,
// core/remotes/docker/config, the minimum for Kubernetes 1.36 and 1.37).
//
// Usage: containerd-hosts [-containerd 1.7|2.2] [-server-cert PEM] <certs.d directory> <source registry>
package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	docker1 "github.com/containerd/containerd/remotes/docker"
	config1 "github.com/containerd/containerd/remotes/docker/config"
	docker2 "github.com/containerd/containerd/v2/core/remotes/docker"
	config2 "github.com/containerd/containerd/v2/core/remotes/docker/config"
)

// host is what both containerd lines resolve for a registry host.
type host struct {
	scheme, host, path string
	caps               []string
	client             *http.Client
	header             http.Header
}

func hosts1(dir, source string) ([]host, error) {
	registries, err := config1.ConfigureHosts(context.Background(), config1.HostOptions{HostDir: config1.HostDirFromRoot(dir)})(source)
	if err != nil {
		return nil, err
	}
	var out []host
	for _, r := range registries {
		var caps []string
		for _, c := range []struct {
			flag docker1.HostCapabilities
			name string
		}{{docker1.HostCapabilityPull, "pull"}, {docker1.HostCapabilityResolve, "resolve"}, {docker1.HostCapabilityPush, "push"}} {
			if r.Capabilities.Has(c.flag) {
				caps = append(caps, c.name)
			}
		}
		out = append(out, host{r.Scheme, r.Host, r.Path, caps, r.Client, r.Header})
	}
	return out, nil
}

func hosts2(dir, source string) ([]host, error) {
	registries, err := config2.ConfigureHosts(context.Background(), config2.HostOptions{HostDir: config2.HostDirFromRoot(dir)})(source)
	if err != nil {
		return nil, err
	}
	var out []host
	for _, r := range registries {
		var caps []string
		for _, c := range []struct {
			flag docker2.HostCapabilities
			name string
		}{{docker2.HostCapabilityPull, "pull"}, {docker2.HostCapabilityResolve, "resolve"}, {docker2.HostCapabilityPush, "push"}} {
			if r.Capabilities.Has(c.flag) {
				caps = append(caps, c.name)
			}
		}
		out = append(out, host{r.Scheme, r.Host, r.Path, caps, r.Client, r.Header})
	}
	return out, nil
}

// roots is the pool the host's client verifies servers with (nil: the system roots).
func roots(c *http.Client) *x509.CertPool {
	if t, ok := c.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		return t.TLSClientConfig.RootCAs
	}
	return nil
}

// skipVerify is whether the host's client accepts any server certificate.
func skipVerify(c *http.Client) bool {
	t, ok := c.Transport.(*http.Transport)
	return ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify
}

// fallback is whether the host's client is wrapped in docker.NewHTTPFallback (an unexported type:
// anything but the plain *http.Transport both lines build).
func fallback(c *http.Client) bool {
	_, plain := c.Transport.(*http.Transport)
	return !plain
}

// addedCAs names the certificates of pool that the system pool does not hold.
func addedCAs(pool *x509.CertPool) []string {
	if pool == nil {
		return nil
	}
	system := map[string]bool{}
	if sys, err := x509.SystemCertPool(); err == nil {
		//lint:ignore SA1019 Subjects lists a Linux system pool's certificates (it is loaded from files)
		for _, s := range sys.Subjects() {
			system[string(s)] = true
		}
	}
	var names []string
	//lint:ignore SA1019 as above
	for _, s := range pool.Subjects() {
		if system[string(s)] {
			continue
		}
		var rdn pkix.RDNSequence
		if _, err := asn1.Unmarshal(s, &rdn); err != nil {
			names = append(names, "unparsable subject")
			continue
		}
		var name pkix.Name
		name.FillFromRDNSequence(&rdn)
		names = append(names, "ca=["+name.String()+"]")
	}
	return names
}

func authOf(h http.Header) string {
	value := h.Get("Authorization")
	if value == "" {
		return ""
	}
	if b64, ok := strings.CutPrefix(value, "Basic "); ok {
		if plain, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return "auth=basic(" + string(plain) + ")"
		}
	}
	return "auth=" + value
}

func trusted(pool *x509.CertPool, serverCert *x509.Certificate, hostport string) string {
	name := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		name = h
	}
	if _, err := serverCert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
		return "tls=untrusted"
	}
	return "tls=trusted"
}

func main() {
	line := flag.String("containerd", "1.7", "whose hosts.toml reader: 1.7 or 2.2")
	serverCertFile := flag.String("server-cert", "", "PEM certificate a server presents: report whether each host trusts it")
	flag.Parse()
	if flag.NArg() != 2 || (*line != "1.7" && *line != "2.2") {
		fmt.Fprintln(os.Stderr, "usage: containerd-hosts [-containerd 1.7|2.2] [-server-cert PEM] <certs.d directory> <source registry>")
		os.Exit(2)
	}
	var serverCert *x509.Certificate
	if *serverCertFile != "" {
		data, err := os.ReadFile(*serverCertFile)
		block, _ := pem.Decode(data)
		if err != nil || block == nil {
			fmt.Fprintln(os.Stderr, "cannot read a PEM certificate from", *serverCertFile)
			os.Exit(2)
		}
		if serverCert, err = x509.ParseCertificate(block.Bytes); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	resolve := hosts1
	if *line == "2.2" {
		resolve = hosts2
	}
	registries, err := resolve(flag.Arg(0), flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, r := range registries {
		fields := []string{fmt.Sprintf("%s://%s%s", r.scheme, r.host, r.path), strings.Join(r.caps, ",")}
		fields = append(fields, addedCAs(roots(r.client))...)
		if a := authOf(r.header); a != "" {
			fields = append(fields, a)
		}
		if skipVerify(r.client) {
			fields = append(fields, "skip_verify")
		}
		if fallback(r.client) {
			fields = append(fields, "http-fallback")
		}
		if serverCert != nil {
			if skipVerify(r.client) {
				fields = append(fields, "tls=not-verified")
			} else {
				fields = append(fields, trusted(roots(r.client), serverCert, r.host))
			}
		}
		fmt.Println(strings.Join(fields, " "))
	}
}
