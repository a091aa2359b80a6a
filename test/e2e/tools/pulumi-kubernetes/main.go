// pulumi-resource-kubernetes, built from github.com/pulumi/pulumi-kubernetes/provider/v4.
//
// The module's own cmd/pulumi-resource-kubernetes embeds schema-embed.json and
// terraform-mapping-embed.json, which its `go generate` makes and the module zip lacks; this
// main embeds the same two files, made by ./embedgen from the zip's schema.json and
// terraform-mapping.json (test/e2e/build-tools.sh runs it in a scratch copy of this directory,
// the files are never committed), and serves them through the provider's own entry point,
// provider.Serve(name, version, schema, mapping) (pkg/provider/serve.go at v4.25.0).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schemaJSON []byte

//go:embed terraform-mapping-embed.json
var terraformMappingJSON []byte

func main() {
	// version.Version is set with -ldflags -X by build-tools.sh (the tag the pseudo-version is).
	provider.Serve("kubernetes", version.Version, schemaJSON, terraformMappingJSON)
}
