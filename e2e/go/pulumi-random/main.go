// Command pulumi-resource-random serves Terraform's random provider through the
// Pulumi Terraform bridge under the tokens of the pulumi-random package.
//
// pulumi-random's provider module (github.com/pulumi/pulumi-random/provider/v4) is not
// served by the Go module proxy we build from, nor is its nested shim module, so this
// main, the token mapping below and ./shim are ours. They bridge the
// terraform-provider-random commit that pulumi-random's shim pins (components/versions.py,
// PULUMI_RANDOM) and follow the mapping rules of pulumi-random's provider/resources.go:
// every random_<x> resource becomes random:index/random<X>:Random<X>, random_bytes takes
// its ID from its base64 result, and random_string state of schema version 0 is read as
// version 1. The package schema is generated from this mapping when the engine asks
// for it (GetSchema), as the bridge's own dynamic provider does.
package main

import (
	"context"
	"errors"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// version is the pulumi-random release this plugin stands for (-ldflags -X main.version=...).
var version = "0.0.0-dev"

// bytesID is random_bytes' ID: the resource has no "id" attribute, its base64 result
// identifies it.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	value, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes state has no base64 value")
	}
	if value.IsSecret() {
		value = value.SecretValue().Element
	}
	if !value.IsString() {
		return "", errors.New("random_bytes base64 value is not a string")
	}
	return resource.ID(value.StringValue()), nil
}

// stringStateV0 reads random_string state written under schema version 0 as version 1
// (the attributes are the same).
func stringStateV0(args tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
	if args.PriorStateSchemaVersion == 0 {
		return 1, args.PriorState, nil
	}
	return args.PriorStateSchemaVersion, args.PriorState, nil
}

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       pf.ShimProvider(shim.NewProvider()),
		Name:    "random",
		Version: version,
		// The bridge requires metadata; pulumi-random embeds the bridge-metadata.json its
		// tfgen writes (auto-aliasing history). A fresh mapping has none to carry, as in
		// the bridge's dynamic provider, which starts from empty metadata too.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_bytes":  {ComputeID: bytesID},
			"random_string": {PreStateUpgradeHook: stringStateV0},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	random := tokens.MakeStandard("random")
	info.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return random(module, "Random"+name)
	}))
	return info
}

func main() {
	ctx := context.Background()
	info := providerInfo()
	pf.Main(ctx, "random", info, pf.ProviderMetadata{
		XGetSchema: func(ctx context.Context, _ plugin.GetSchemaRequest) ([]byte, error) {
			generated, err := pftfgen.GenerateSchema(ctx, pftfgen.GenerateSchemaOptions{
				ProviderInfo:  info,
				XInMemoryDocs: true,
			})
			if err != nil {
				return nil, err
			}
			return generated.ProviderMetadata.PackageSchema, nil
		},
	})
}
