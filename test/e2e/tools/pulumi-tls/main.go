// pulumi-resource-tls for the e2e tests: the real terraform-provider-tls (hashicorp, the commit
// of its go.mod pseudo-version) served through pulumi-terraform-bridge's plugin-framework bridge,
// with this project's own ProviderInfo. The Go module proxy refuses
// github.com/pulumi/pulumi-tls/provider/v5 at every version; what pulumi-tls adds on top of the
// bridge and that matters to a program is the token mapping, reproduced here as its
// provider/resources.go states it: one module "index", standard tokens
// (tls_private_key → tls:index/privateKey:PrivateKey, data source tls_public_key →
// tls:index/getPublicKey:getPublicKey). Secret outputs (privateKeyPem, …) are the upstream
// schema's Sensitive attributes, which the bridge marks secret.
// Left out, because they do not change what a program sees: documentation edits, SDK
// generation settings, and the PreStateUpgradeHook for self-signed-cert state written before
// the plugin-framework migration (no such state exists in these tests).
package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/hashicorp/terraform-provider-tls/k8splatformshim"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// version is stamped by test/e2e/build-tools.sh. The npm SDK @pulumi/tls 5.6.1 asks the engine
// for plugin 5.6.1; build metadata (ignored by semver ordering) says which build this is.
var version = "5.6.1+k8splatform"

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       pf.ShimProvider(k8splatformshim.NewProvider()),
		Name:    "tls",
		Version: version,
		// No tfgen-time metadata (auto-aliasing history) exists for this build.
		MetadataInfo:                   tfbridge.NewProviderMetadata([]byte("{}")),
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}
	info.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return info
}

func main() {
	info := providerInfo()
	pf.Main(context.Background(), "tls", info, pf.ProviderMetadata{
		// The schema only answers GetSchema (the engine does not need it for up/preview/destroy):
		// generated from the same ProviderInfo on demand instead of a tfgen step at build time.
		XGetSchema: func(context.Context, plugin.GetSchemaRequest) ([]byte, error) {
			spec, err := tfgen.GenerateSchema(info, diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never}))
			if err != nil {
				return nil, err
			}
			return json.Marshal(spec)
		},
	})
}
