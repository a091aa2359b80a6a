import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

/**
 * Runs the program under Pulumi's mock runtime (`pulumi.runtime.setMocks`, the official unit-test
 * method) and records everything it declares: type, name, parent, explicit dependencies and
 * inputs (secret markers kept). Used by the tests and by `npm run synth`.
 */

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ROOT = path.resolve(__dirname, "..");
export const PROJECT_NAME = "k8s-platform";

export interface DeclaredResource {
    readonly type: string;
    readonly name: string;
    /** Name of the parent resource (the stack for top-level resources). */
    readonly parent?: string;
    /** Names of resources in the explicit `dependsOn` option. */
    readonly dependsOn: string[];
    /** The `version` resource option (the provider plugin version it asks the engine for). */
    readonly version?: string;
    /** Inputs as the engine would receive them; secrets are `{[SIG_KEY]: SECRET_SIG, value}`. */
    readonly inputs: Record<string, unknown>;
    readonly custom: boolean;
    /** Read from the cloud (`Resource.get`), not declared by the program. */
    readonly read: boolean;
    /** Resource options the engine acts on (secret outputs, ignored changes, protection, adoption). */
    readonly options: ResourceOptionsSeen;
    /** Names from the `aliases` option (`{name}` specs: same type and parent). */
    readonly aliases?: string[];
}

export interface ResourceOptionsSeen {
    readonly additionalSecretOutputs?: string[];
    readonly protect?: boolean;
    readonly ignoreChanges?: string[];
    readonly replaceOnChanges?: string[];
    readonly retainOnDelete?: boolean;
    readonly deleteBeforeReplace?: boolean;
    /** The `import` option: the provider ID of an existing resource to adopt. */
    readonly import?: string;
    /** Resource hooks by when they run (beforeUpdate, ...), to call as the engine would. */
    readonly hooks?: Record<string, pulumi.ResourceHook[]>;
}

/**
 * Replacements for the mock provider answers, for tests that need another template or a state
 * left by an earlier `pulumi up`. Return undefined to keep the default answer.
 */
export interface MockOverrides {
    readonly invoke?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
    /** The state the provider reports for a resource (merged over its inputs and the default mock state). */
    readonly state?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
    /** Run as a preview (default false): outputs the mock state leaves out are unknown, as for a
     * resource the engine has still to create. */
    readonly preview?: boolean;
}

export interface ResolvedOutput {
    readonly value: unknown;
    readonly secret: boolean;
}

export interface Synthesis {
    readonly resources: DeclaredResource[];
    readonly outputs: Record<string, ResolvedOutput>;
    readonly invokes: { token: string; inputs: Record<string, unknown> }[];
}

export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces every secret with "[secret]" (what a preview shows). */
export function maskSecrets(value: unknown): unknown {
    if (isSecretValue(value)) {
        return "[secret]";
    }
    if (Array.isArray(value)) {
        return value.map(maskSecrets);
    }
    if (value && typeof value === "object" && !(value instanceof pulumi.asset.Asset)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v)]));
    }
    return value;
}

/** Removes secret markers, keeping the values (for assertions about content). */
export function unwrapSecrets(value: unknown): unknown {
    if (isSecretValue(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

export function containsSecret(value: unknown): boolean {
    if (isSecretValue(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsSecret);
    }
    if (value && typeof value === "object") {
        return Object.values(value).some(containsSecret);
    }
    return false;
}

const FIXTURE_CA = fs.readFileSync(path.join(ROOT, "test", "fixtures", "ca.crt"), "utf8");
export const MOCK_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: kubernetes-admin\n  user:\n    client-key-data: MOCK-ADMIN-KEY\n";

/** azure-native autonames resources `<logical name><random suffix>`: the program must read `name`. */
const AUTONAME_SUFFIX = "a1b2c3d4";

/** Plausible provider outputs for the resources whose outputs the program reads. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return {
                privateKeyPem: `MOCK-PRIVATE-KEY-${name}`,
                privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-PRIVATE-KEY-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
                publicKeyPem: `MOCK-PUBLIC-KEY-${name}`,
                publicKeyOpenssh: inputs.algorithm === "ED25519" ? `ssh-ed25519 AAAAC3Mock${name.replace(/[^A-Za-z0-9]/g, "")}\n` : `ssh-rsa MOCK ${name}`,
            };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: FIXTURE_CA };
        case "random:index/randomPassword:RandomPassword": {
            const length = Number(inputs.length ?? 16);
            return { result: `mock${name}`.replace(/[^a-z0-9]/g, "").padEnd(length, "0").slice(0, length), bcryptHash: `$2a$10$mock${name}` };
        }
        case "random:index/randomBytes:RandomBytes":
            return { hex: "ab".repeat(Number(inputs.length ?? 32)), base64: "bW9jaw==" };
        case "pulumi:pulumi:StackReference":
            // A stack with no outputs yet (a new stack); tests give the recorded ones through `state`.
            return { outputs: {}, secretOutputNames: [] };
        case "command:remote:Command":
            return { stdout: name.endsWith("-kubeconfig") ? MOCK_KUBECONFIG : "", stderr: "" };
        case "random:index/randomString:RandomString":
            return { result: "abc123".slice(0, Number(inputs.length ?? 6)) };
        case "azure-native:network:PublicIPAddress":
            return { ipAddress: `20.0.${name.length}.${name.charCodeAt(name.length - 1) % 250}` };
        case "azure-native:network:LoadBalancer":
            return { backendAddressPools: [{ id: `${name}-id/backendAddressPools/workers`, name: "workers" }] };
        case "azure-native:containerservice:ManagedCluster":
            // azure-native outputs: `name` (the autonamed cluster), `fqdn`, the system-assigned
            // `identity` with its principalId, and the kubelet identity in identityProfile.
            return {
                name: inputs.resourceName ?? `${name}${AUTONAME_SUFFIX}`,
                fqdn: `${name}.hcp.eastus.azmk8s.io`,
                identity: { type: "SystemAssigned", principalId: "cluster-identity-principal-id", tenantId: "tenant-id" },
                identityProfile: { kubeletidentity: { objectId: "kubelet-object-id", clientId: "kubelet-client-id" } },
            };
        case "azure-native:network:VirtualNetwork":
            return { name: inputs.virtualNetworkName ?? `${name}${AUTONAME_SUFFIX}` };
        case "azure-native:network:Subnet":
            return { name: inputs.subnetName ?? `${name}${AUTONAME_SUFFIX}` };
        case "azure-native:containerregistry:Registry":
            return { loginServer: `${String(inputs.registryName)}.azurecr.io` };
        case "azure-native:resources:ResourceGroup":
            return { name: inputs.resourceGroupName ?? name };
        case "vsphere:index/virtualMachine:VirtualMachine":
            // The VM's BIOS UUID (a new one for every clone) and managed object ID.
            return { uuid: `4216d1c3-0000-0000-0000-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`, moid: `vm-${name.length}` };
        case "azure-native:compute:VirtualMachine":
            return { vmId: `00000000-0000-4000-8000-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`, name: inputs.vmName ?? `${name}${AUTONAME_SUFFIX}` };
        case "kubernetes:core/v1:Service":
            return { status: { loadBalancer: { ingress: [{ ip: "20.30.40.50" }] } } };
        default:
            return {};
    }
}

/** A template as getVirtualMachine returns it: every output the schema marks required (pulumi-vsphere 4.17.0). */
export const MOCK_TEMPLATE = {
    id: "4216d1c3-0000-0000-0000-template0001",
    uuid: "4216d1c3-0000-0000-0000-template0001",
    instanceUuid: "5016d1c3-0000-0000-0000-template0001",
    moid: "vm-1001",
    annotation: "",
    changeVersion: "2026-01-01T00:00:00.000000Z",
    cpuShareCount: 2000,
    memoryShareCount: 20480,
    customAttributes: {},
    defaultIpAddress: "",
    guestIpAddresses: [],
    eptRviMode: "automatic",
    hvMode: "hvAuto",
    hardwareVersion: 19,
    guestId: "rhel9_64Guest",
    scsiType: "pvscsi",
    scsiBusSharing: "noSharing",
    firmware: "efi",
    storagePolicyId: "",
    tags: [],
    vappTransports: [],
    videoCards: [{ graphics3ds: [], numDisplays: 1, totalVideoMemory: 8192 }],
    vtpm: false,
    disks: [{ label: "Hard disk 1", size: 20, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }],
    networkInterfaceTypes: ["vmxnet3"],
    networkInterfaces: [
        { adapterType: "vmxnet3", bandwidthShareCount: 50, externalPortId: "", macAddress: "00:50:56:00:00:01", networkId: "network-11", physicalFunction: "" },
    ],
};

function mockInvoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const name = String(inputs.name ?? "");
    const datacenterId = String(inputs.datacenterId ?? "");
    switch (token) {
        case "vsphere:index/getVirtualMachine:getVirtualMachine":
            return { ...MOCK_TEMPLATE, name, datacenterId };
        case "vsphere:index/getDatacenter:getDatacenter":
            return { id: `datacenter-${name}`, name, virtualMachines: [] };
        case "vsphere:index/getComputeCluster:getComputeCluster":
            return { id: `domain-c-${name}`, name, datacenterId, resourcePoolId: `resgroup-${name}` };
        case "vsphere:index/getResourcePool:getResourcePool":
            return { id: `resgroup-${name}`, name, datacenterId, parentResourcePoolId: "resgroup-root" };
        case "vsphere:index/getDatastore:getDatastore":
            return { id: `datastore-${name}`, name, datacenterId, stats: {} };
        case "vsphere:index/getNetwork:getNetwork":
            return { id: `network-${name}`, name, datacenterId, type: "Network" };
        case "azure-native:containerservice:listManagedClusterUserCredentials":
            return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(MOCK_KUBECONFIG).toString("base64") }] };
        case "tls:index/getPublicKey:getPublicKey":
            return { publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockPublicKey k8s-platform", publicKeyPem: "MOCK-PUBLIC-PEM" };
        case "azure-native:authorization:getClientConfig":
            return { subscriptionId: "00000000-0000-0000-0000-000000000000", tenantId: "t", clientId: "c", objectId: "o" };
        default:
            return {};
    }
}

/** The mock provider's default answer to an invoke (for tests that check it against a schema). */
export const mockInvokeForTest = (token: string, inputs: Record<string, unknown>): Record<string, unknown> => mockInvoke(token, inputs);

function seenOptions(opts: pulumi.CustomResourceOptions): ResourceOptionsSeen {
    const seen: Record<string, unknown> = {
        additionalSecretOutputs: opts.additionalSecretOutputs,
        protect: opts.protect,
        ignoreChanges: opts.ignoreChanges,
        replaceOnChanges: opts.replaceOnChanges,
        retainOnDelete: opts.retainOnDelete,
        deleteBeforeReplace: opts.deleteBeforeReplace,
        import: opts.import,
        hooks: opts.hooks,
    };
    return Object.fromEntries(Object.entries(seen).filter(([, v]) => v !== undefined)) as ResourceOptionsSeen;
}

function nameOf(resource: unknown): string | undefined {
    return (resource as { __name?: string } | undefined)?.__name;
}

async function resolve(value: unknown): Promise<ResolvedOutput> {
    if (pulumi.Output.isInstance(value)) {
        const internal = value as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        const [resolved, secret] = await Promise.all([internal.promise(), internal.isSecret]);
        const inner = await resolve(resolved);
        return { value: inner.value, secret: secret || inner.secret };
    }
    if (Array.isArray(value)) {
        const items = await Promise.all(value.map(resolve));
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (value && typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolve(v)] as const));
        return { value: Object.fromEntries(entries.map(([k, r]) => [k, r.value])), secret: entries.some(([, r]) => r.secret) };
    }
    return { value, secret: false };
}

/**
 * Sets the stack's config and mocks, runs `program` inside a Pulumi stack, waits for every
 * registration and returns what was declared.
 */
export async function synthesize(
    stack: string,
    config: Record<string, string>,
    secretKeys: string[],
    program: () => Record<string, unknown> | Promise<Record<string, unknown>>,
    overrides: MockOverrides = {},
): Promise<Synthesis> {
    const declared = new Map<string, DeclaredResource>();
    const options = new Map<string, { parent?: string; dependsOn: string[]; version?: string; seen: ResourceOptionsSeen; aliases: string[] }>();
    const invokes: Synthesis["invokes"] = [];
    pulumi.runtime.setAllConfig(config, secretKeys);
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const opts = options.get(`${args.type}::${args.name}`);
                declared.set(`${args.type}::${args.name}`, {
                    type: args.type,
                    name: args.name,
                    parent: opts?.parent,
                    dependsOn: opts?.dependsOn ?? [],
                    version: opts?.version,
                    inputs: args.inputs,
                    custom: args.custom ?? false,
                    // The mock monitor passes an `import` ID as `id` too.
                    read: Boolean(args.id) && !opts?.seen.import,
                    options: opts?.seen ?? {},
                    ...(opts && opts.aliases.length > 0 ? { aliases: opts.aliases } : {}),
                });
                const state = { ...args.inputs, ...mockState(args.type, args.name, args.inputs), ...overrides.state?.(args.type, args.name, args.inputs) };
                return { id: `${args.name}-id`, state };
            },
            call: (args) => {
                invokes.push({ token: args.token, inputs: args.inputs });
                return overrides.invoke?.(args.token, args.inputs) ?? mockInvoke(args.token, args.inputs);
            },
        },
        PROJECT_NAME,
        stack,
        overrides.preview ?? false,
        // What a self-managed (diy) backend reports; the program's StackReference to its own stack
        // (stacks/versionRecord.ts) names it.
        "organization",
    );
    // The SDK's mock monitor has no RegisterResourceHook (SDK 3.270 runtime/mocks.js): accept the
    // registration as the engine would; the hooks themselves are kept in `options.hooks` for tests
    // to call with the old and new inputs the engine would pass.
    const monitor = (pulumi.runtime as unknown as { getMonitor(): Record<string, unknown> }).getMonitor();
    monitor.registerResourceHook = (_req: unknown, done: (err: Error | null, res: unknown) => void) => done(null, {});
    let outputs: Record<string, unknown> = {};
    let programError: unknown;
    // An error thrown inside an apply fails the deployment (the engine reports it); the runtime
    // surfaces it as an unhandled rejection, which is collected here and rethrown below.
    // Other listeners (node:test's) are set aside meanwhile: the error is this synthesis's result.
    const failures: unknown[] = [];
    const onRejection = (err: unknown) => failures.push(err);
    const others = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", onRejection);
    // Every registration depending on a failed value rejects too, a little later: let them all
    // arrive while the listener is on, so none lands in the next synthesis.
    const drain = async () => {
        for (let seen = -1; seen !== failures.length; ) {
            seen = failures.length;
            await new Promise((done) => setTimeout(done, 50));
        }
    };
    try {
        return await run();
    } catch (err) {
        await drain();
        throw err;
    } finally {
        process.off("unhandledRejection", onRejection);
        others.forEach((listener) => process.on("unhandledRejection", listener));
    }

    async function run(): Promise<Synthesis> {
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            const dependsOn = args.opts.dependsOn;
            const list = Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : [];
            options.set(`${args.type}::${args.name}`, {
                parent: nameOf(args.opts.parent),
                // An Output in dependsOn (components/refusals.ts heldBackBy) holds the resource back
                // until it resolves: it names no resource until then.
                dependsOn: list.map((d) => nameOf(d) ?? (pulumi.Output.isInstance(d) ? "(a checked value)" : "?")),
                version: args.opts.version,
                seen: seenOptions(args.opts as pulumi.CustomResourceOptions),
                aliases: (args.opts.aliases ?? []).flatMap((a) => {
                    const name = (a as { name?: unknown }).name;
                    return typeof name === "string" ? [name] : [];
                }),
            });
            return undefined;
        });
        try {
            outputs = await program();
        } catch (err) {
            // Rethrown once the stack has settled, as the engine would report it.
            programError = err;
        }
        return undefined;
    });
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;
    if (programError !== undefined) {
        await waitForRPCs();
        throw programError;
    }
    const resolvedOutputs: Record<string, ResolvedOutput> = {};
    for (const [key, value] of Object.entries(outputs)) {
        resolvedOutputs[key] = await resolve(value);
    }
    await waitForRPCs();
    await new Promise((done) => setImmediate(done));
    if (failures.length > 0) {
        await drain();
        throw failures[0];
    }
    return { resources: [...declared.values()], outputs: resolvedOutputs, invokes };
    }
}

/** The project-namespaced config of a committed stack file, as `pulumi config` would hold it. */
export interface StackFileConfig {
    /** "k8s-platform:key" (and provider keys) → value as Pulumi stores it. */
    readonly config: Record<string, string>;
    /** Keys whose values are encrypted in the file (replaced here by placeholders). */
    readonly secretKeys: string[];
}

export const PLACEHOLDER_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nsynth-placeholder: set the real key with pulumi config set --secret\n-----END OPENSSH PRIVATE KEY-----\n";

/**
 * Reads Pulumi.<stack>.yaml. Encrypted values cannot be decrypted offline: they become
 * placeholders marked secret. A missing `k8s-platform:sshPrivateKey` (normally set with
 * `pulumi config set --secret`) gets a placeholder unless `withoutSshKey`.
 */
export function readStackFile(stack: string, opts: { withoutSshKey?: boolean; root?: string } = {}): StackFileConfig {
    const file = path.join(opts.root ?? ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${path.basename(file)}; stacks: ${listStacks().join(", ")}`);
    }
    const doc = (parseStackYaml(file) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const sshKey = `${PROJECT_NAME}:sshPrivateKey`;
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            // The program checks the SSH key's form: its placeholder has the form of a key.
            config[key] = key === sshKey ? PLACEHOLDER_SSH_KEY : `synth-placeholder-for-${key}`;
            secretKeys.push(key);
        } else if (hasSecureLeaf(value)) {
            // A map or list holding `secure:` values (`pulumi config set --secret --path`): Pulumi
            // marks the whole key secret ("If both `Object` and `Secret` is true, then the JSON
            // encoded object contains at least one secure value": pkg/apitype ConfigValue); each
            // leaf becomes a placeholder.
            config[key] = JSON.stringify(placeholderLeaves(value, key));
            secretKeys.push(key);
        } else {
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    if (opts.withoutSshKey) {
        delete config[sshKey];
    } else if (!(sshKey in config)) {
        config[sshKey] = PLACEHOLDER_SSH_KEY;
        secretKeys.push(sshKey);
    }
    return { config, secretKeys };
}

const isSecureLeaf = (v: unknown): boolean => v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;

function hasSecureLeaf(value: unknown): boolean {
    if (isSecureLeaf(value)) return true;
    return value !== null && typeof value === "object" && Object.values(value).some(hasSecureLeaf);
}

function placeholderLeaves(value: unknown, at: string): unknown {
    if (isSecureLeaf(value)) return `synth-placeholder-for-${at}`;
    if (Array.isArray(value)) return value.map((v, i) => placeholderLeaves(v, `${at}[${i}]`));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeholderLeaves(v, `${at}.${k}`)]));
    }
    return value;
}

/** A stack file's YAML; a syntax error names the file (the yaml library's message names only line and column). */
function parseStackYaml(file: string): unknown {
    try {
        return parseYaml(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`${path.basename(file)}: ${(err as Error).message}`);
    }
}

export function listStacks(): string[] {
    return fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}
