import { VsphereMachines } from "../components/vsphereMachines";
import { SshAccess } from "../components/remoteScript";
import { PlatformConfig, StackSecrets } from "../config";
import { stackHosts } from "../config";
import { buildKubeadmPlatform, checkedKubernetesVersion } from "./kubeadmPlatform";
import { pinnedStackName, stackIndependent } from "./names";
import { StackOutputs } from "./outputs";

/** A kubeadm platform on vSphere VMs (seed 000) or on existing hosts (seed 003). */
export function buildOnPrem(config: PlatformConfig, ssh: SshAccess, secrets: StackSecrets = {}): StackOutputs {
    const vmHosts = stackHosts(config)
        .filter((h) => h.vm)
        .map((h) => h.host);
    // Checked against the stack's record first: the VMs wait for it, so a refused change gets none.
    const version = checkedKubernetesVersion(config);
    const vms =
        config.infra.provider === "vsphere" && vmHosts.length > 0
            ? new VsphereMachines(
                  "vms",
                  {
                  vsphere: config.infra.vsphere,
                  network: config.network,
                  hosts: vmHosts,
                  // The storage VM holds the share's data: `pulumi destroy` must not delete it.
                  retainOnDelete: config.nfs.enabled && config.nfs.host.kind === "dedicated" ? [config.nfs.host.host.name] : [],
                  gate: version,
                  },
                  stackIndependent(config.stack, "vms"),
              )
            : undefined;
    // The scripts reach each VM at its checked address (a changed IP is refused, see VsphereMachines).
    const reach = vms ? { ...ssh, addresses: { ...ssh.addresses, ...vms.addresses }, machineIds: vms.ids } : ssh;
    return buildKubeadmPlatform(config, { machines: vms?.machines ?? {}, ssh: reach, clusterName: pinnedStackName(config.stack), version }, secrets);
}
