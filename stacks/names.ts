import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * Names that do not depend on the stack's name. `pulumi stack rename` (and a copied stack) keeps
 * every resource only if resource names are stack-independent (the URN carries the stack), and
 * keeps every cloud and cluster identity only if physical names are, too.
 *
 * Resources were named `<stack>-<name>` before: each top-level resource declares that name as an
 * alias; its children inherit it (their names start with the parent's, @pulumi/pulumi resource.ts
 * inheritedChildAlias, see tools/engineModel.ts), so an existing stack keeps every resource. Run
 * the upgrade before renaming a stack: the alias is computed from the stack's current name.
 */
export function stackIndependent(stack: string, name: string): { aliases: pulumi.Alias[] } {
    return { aliases: [{ name: `${stack}-${name}` }] };
}

/**
 * The name physical identities are derived from (kubeadm's clusterName, the Kubernetes provider's
 * clusterIdentifier, the /etc/hosts block, Azure resource group, AKS DNS prefix and registry, the
 * load balancer): the stack's name at its first `up` with this program, kept in state (a RandomId
 * whose keepers hold it, changes ignored), so a renamed stack keeps every one of them.
 */
export function pinnedStackName(stack: string): pulumi.Output<string> {
    const pin = new random.RandomId("stack-name", { byteLength: 4, keepers: { stack } }, { ignoreChanges: ["keepers"] });
    return pin.keepers.apply((keepers) => keepers?.stack ?? stack);
}
