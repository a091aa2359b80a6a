// Package k8splatformshim exposes terraform-provider-random's plugin-framework provider.
package k8splatformshim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream provider, unchanged.
func NewProvider() provider.Provider { return random.New() }
