// pulumi-resource-random for the e2e tests: the real terraform-provider-random served through
// pulumi-terraform-bridge's plugin-framework bridge, with this project's own ProviderInfo. The Go
// module proxy refuses github.com/pulumi/pulumi-random/provider/v4 at every version; what
// pulumi-random adds on top of the bridge and that matters to a program is reproduced here as its
// provider/resources.go states it:
//   - tokens: one module "index", resource names prefixed "Random"
//     (random_password → random:index/randomPassword:RandomPassword);
//   - random_bytes: the resource id is its `base64` value (resources.go computeRandomBytesID),
//     so a RandomBytes' value is in plain text in the state as its id although `base64`/`hex` are
//     secret outputs. Keep secrets out of RandomBytes (the program is dropping it);
//   - random_string's PreStateUpgradeHook: state of schema version 0 is taken as version 1.
// Secret outputs (result, bcryptHash, base64, hex) are the upstream schema's Sensitive attributes,
// which the bridge marks secret. Left out: documentation edits, SDK settings, auto-aliasing
// history (no tfgen metadata exists for this build).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/terraform-providers/terraform-provider-random/k8splatformshim"
)

// version is stamped by test/e2e/build-tools.sh. The npm SDK @pulumi/random 4.21.2 asks the
// engine for plugin 4.21.2; build metadata (ignored by semver ordering) says which build this is.
var version = "4.21.2+k8splatform"

// bytesID: upstream's id for random_bytes is the base64 value (see the package comment).
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	value, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes: no base64 in state")
	}
	if value.IsSecret() {
		value = value.SecretValue().Element
	}
	if !value.IsString() {
		return "", errors.New("random_bytes: base64 is not a string")
	}
	return resource.ID(value.StringValue()), nil
}

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(k8splatformshim.NewProvider()),
		Name:         "random",
		Version:      version,
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_bytes": {ComputeID: bytesID},
			"random_string": {PreStateUpgradeHook: func(args tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
				if args.PriorStateSchemaVersion == 0 {
					return 1, args.PriorState, nil
				}
				return args.PriorStateSchemaVersion, args.PriorState, nil
			}},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	standard := tokens.MakeStandard("random")
	info.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return standard(module, "Random"+name)
	}))
	return info
}

func main() {
	info := providerInfo()
	pf.Main(context.Background(), "random", info, pf.ProviderMetadata{
		// Only GetSchema needs it (not up/preview/destroy): generated from the same ProviderInfo on
		// demand instead of a tfgen step at build time.
		XGetSchema: func(context.Context, plugin.GetSchemaRequest) ([]byte, error) {
			spec, err := tfgen.GenerateSchema(info, diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never}))
			if err != nil {
				return nil, err
			}
			return json.Marshal(spec)
		},
	})
}
