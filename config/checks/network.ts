import { configKey as k, Problems } from "../errors";
import { cidrContains, cidrsOverlap, parseCidr } from "../net";
import { Raw, show } from "../schema";

/** Seed 000 insists the pod network never overlaps the host network; nor may the service network. */
export function checkNetworks(raw: Raw, problems: Problems): void {
    const nodeNet = parseCidr(raw.network.cidr)!;
    const podNet = parseCidr(raw.kubernetes.podSubnet)!;
    const svcNet = parseCidr(raw.kubernetes.serviceSubnet)!;
    const nets: Array<[string, typeof nodeNet]> = [
        [`kubernetes.podSubnet (${podNet.text})`, podNet],
        [`kubernetes.serviceSubnet (${svcNet.text})`, svcNet],
        [`network.cidr (${nodeNet.text})`, nodeNet],
    ];
    for (let i = 0; i < nets.length; i++) {
        for (let j = i + 1; j < nets.length; j++) {
            if (cidrsOverlap(nets[i][1], nets[j][1])) {
                problems.push(`${k(nets[i][0].split(" ")[0])}: ${nets[i][0]} overlaps ${nets[j][0]}; the pod, service and node networks must not overlap`);
            }
        }
    }
    if (raw.network.gateway && !cidrContains(nodeNet, raw.network.gateway)) {
        problems.push(`${k("network.gateway")}: ${show(raw.network.gateway)} is outside network.cidr ${nodeNet.text}`);
    }
}
