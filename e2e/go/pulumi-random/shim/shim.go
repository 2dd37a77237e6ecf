// Package shim hands terraform-provider-random's framework provider to the bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider is the Terraform random provider, unconfigured.
func NewProvider() provider.Provider {
	return random.New()
}
