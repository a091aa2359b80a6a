/**
 * What a clone may declare, from the template that getVirtualMachine reports. The rules are
 * terraform-provider-vsphere v2.16.1's (the upstream of pulumi-vsphere 4.17.0), see
 * ../shared/REFERENCE.md "vSphere clone rules" and the provider schema's descriptions:
 * - a full clone needs at least the template's disks, each at least as large;
 * - a linked clone's disks must have exactly the template's size, thinProvisioned and eagerlyScrub;
 * - `scsiType` "Can be one of lsilogic, lsilogic-sas or pvscsi" (a template with mixed or
 *   unknown controllers reports "mixed" / "unknown");
 * - NIC `adapterType` "Can be one of e1000, e1000e, sriov, vmxnet3, or vrdma".
 */

export const SCSI_TYPES = ["lsilogic", "lsilogic-sas", "pvscsi"] as const;
export const ADAPTER_TYPES = ["e1000", "e1000e", "sriov", "vmxnet3", "vrdma"] as const;

export interface TemplateDisk {
    readonly label: string;
    readonly size: number;
    readonly thinProvisioned: boolean;
    readonly eagerlyScrub: boolean;
    readonly unitNumber: number;
}

export interface TemplateFacts {
    readonly scsiType: string;
    readonly disks: TemplateDisk[];
    readonly networkInterfaceTypes: string[];
}

export interface CloneDisk {
    readonly label: string;
    readonly unitNumber: number;
    readonly size: number;
    readonly thinProvisioned: boolean;
    readonly eagerlyScrub: boolean;
}

/** Problems that make a clone of this template fail, each naming the template and what is allowed. */
export function templateProblems(template: TemplateFacts, templateName: string): string[] {
    const where = `k8s-platform:infra.vsphere.template: template ${JSON.stringify(templateName)}`;
    const problems: string[] = [];
    if (!(SCSI_TYPES as readonly string[]).includes(template.scsiType)) {
        problems.push(
            `${where} has SCSI controller type ${JSON.stringify(template.scsiType)}; a clone needs one of ${SCSI_TYPES.join(", ")} ` +
                `(give every SCSI controller of the template the same supported type)`,
        );
    }
    if (template.disks.length === 0) {
        problems.push(`${where} has no disk; the nodes are cloned with the template's system disk`);
    }
    if (template.networkInterfaceTypes.length === 0) {
        problems.push(`${where} has no network adapter; the clone needs one (${ADAPTER_TYPES.join(", ")})`);
    }
    template.networkInterfaceTypes.forEach((type, i) => {
        if (!(ADAPTER_TYPES as readonly string[]).includes(type)) {
            problems.push(`${where} has network adapter ${i} of type ${JSON.stringify(type)}; the provider allows ${ADAPTER_TYPES.join(", ")}`);
        }
    });
    return problems;
}

/**
 * The clone's disks: one per template disk, in the template's order (labels disk0, disk1, …).
 * Full clone: the first (system) disk grows to `diskGb` and never below the template's; the rest
 * keep the template's size. Linked clone: every disk exactly as the template's.
 */
export function cloneDisks(template: TemplateFacts, diskGb: number, linkedClone: boolean): CloneDisk[] {
    return template.disks.map((d, i) => ({
        label: `disk${i}`,
        unitNumber: d.unitNumber,
        size: linkedClone || i > 0 ? d.size : Math.max(diskGb, d.size),
        thinProvisioned: d.thinProvisioned,
        eagerlyScrub: d.eagerlyScrub,
    }));
}
