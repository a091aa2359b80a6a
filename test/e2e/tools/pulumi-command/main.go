// pulumi-resource-command for the e2e tests: the `command:remote:Command` resource the program
// uses, written for this project on github.com/pulumi/pulumi-go-provider v1.3.0 (what
// pulumi-command v1.2.1 is built on) because the Go module proxy refuses every version of
// github.com/pulumi/pulumi-command/provider. It follows pulumi-command v1.2.1's schema and
// semantics; each behaviour names the pulumi-command file it follows (remote/*.go).
// Not implemented (the program does not use them): command:local:*, CopyToRemote, CopyFile,
// password and agent authentication.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi-go-provider/infer"

	"k8s-platform.test/e2e/tools/pulumi-command/remote"
)

// version is stamped by test/e2e/build-tools.sh (-ldflags -X main.version=…). The engine asks for
// the plugin version the npm SDK names (@pulumi/command 1.2.1: package.json "pulumi.version"),
// so this binary reports 1.2.1 with build metadata that says what it is; semver ordering ignores
// build metadata, so the engine's "expected version >= 1.2.1" check passes.
var version = "1.2.1+k8splatform"

func main() {
	provider, err := infer.NewProviderBuilder().
		WithDisplayName("Command").
		WithDescription("command:remote:Command for k8s-platform's e2e tests, after pulumi-command v1.2.1.").
		WithResources(infer.Resource(&remote.Command{})).
		Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	if err := provider.Run(context.Background(), "command", strings.TrimPrefix(version, "v")); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
