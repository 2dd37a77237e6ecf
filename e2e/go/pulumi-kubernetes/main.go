// Command pulumi-resource-kubernetes serves the Kubernetes provider of
// github.com/pulumi/pulumi-kubernetes/provider/v4 with the package schema of the same
// commit.
//
// Upstream's main (provider/cmd/pulumi-resource-kubernetes/main.go) embeds
// schema-embed.json and terraform-mapping-embed.json, which its `go generate` writes
// and git ignores, so the module as the proxy serves it cannot build that main. The
// build (python -m e2e.build) copies the committed schema.json and
// terraform-mapping.json of the module beside this file, and this main stamps the
// provider's version into the schema at start-up, as upstream's generate.go does.
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

// withVersion returns the package schema with its "version" set.
func withVersion(schema []byte, v string) ([]byte, error) {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(schema, &spec); err != nil {
		return nil, err
	}
	encoded, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	spec["version"] = encoded
	return json.Marshal(spec)
}

func main() {
	versioned, err := withVersion(schema, version.Version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-kubernetes: bad embedded schema: %v\n", err)
		os.Exit(1)
	}
	provider.Serve("kubernetes", version.Version, versioned, terraformMapping)
}
