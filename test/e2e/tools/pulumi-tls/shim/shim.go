// Package k8splatformshim exposes terraform-provider-tls's plugin-framework provider.
package k8splatformshim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	tls "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream provider, unchanged.
func NewProvider() provider.Provider { return tls.New() }
