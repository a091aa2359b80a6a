// The mirrors' CA and credentials (issue 16 §4, its last closing note: "Mirrors must serve HTTPS
// with a certificate the nodes already trust, and allow anonymous pulls"): `images.caCert`,
// `images.username` and the secret `imagesPassword` reach every node's preparation — the CA and
// the user name as parameters, the password only as a secret on standard input — and what
// setting, changing and removing them on a running stack re-runs. The node side (the files
// containerd reads) is test/realroot/prepare-node.bats.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, imageFor, kubeadmImageSettings, parseConfig, ParseOptions } from "../config";
import { hostPasswordsFacts } from "../config/checks/images";
import { maskSecrets, readStackFile, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp, textReport } from "../tools/synthDiff";
import { commands, envOf, RawConfig, rawConfigOf, scriptOf, synthStack } from "./helpers";

const MIRROR = "harbor.example.com/mirror";
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");
const CA = fixture("mirror-ca.crt");
const CA2 = fixture("mirror-ca-2.crt");
const PASSWORD = "s3cret-Mirror-pw:with'quote";
const SECRET_PASSWORD = { imagesPassword: { value: PASSWORD, secret: true } };
const PASSWORD_FACTS = { imagesPassword: { secret: true, empty: false } };

function parse(edit: (raw: RawConfig) => void, opts: Partial<ParseOptions> = {}, base = "lab") {
    const raw = structuredClone(rawConfigOf(base));
    edit(raw);
    return parseConfig(raw, { stack: "test", hasSshPrivateKey: true, ...opts });
}
function problemsOf(edit: (raw: RawConfig) => void, opts: Partial<ParseOptions> = {}, base = "lab"): string[] {
    try {
        parse(edit, opts, base);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems;
    }
    return assert.fail("expected the config to be refused");
}
const withImages = (images: Record<string, unknown>) => (raw: RawConfig) => (raw.images = { registry: MIRROR, ...images });

/** The lab's four preparations, and only their standard input, differ between two syntheses: their inputs (before, after). */
function onlyStdinChanged(one: Synthesis, two: Synthesis): [Record<string, unknown>, Record<string, unknown>][] {
    const inputsOf = (s: Synthesis, name: string) => s.resources.find((r) => r.name === name)?.inputs;
    const changed = one.resources.filter((r) => JSON.stringify(unwrapSecrets(r.inputs)) !== JSON.stringify(unwrapSecrets(inputsOf(two, r.name)))).map((r) => r.name);
    assert.deepEqual(changed, ["cluster-m-k8s-prepare", "cluster-w1-k8s-prepare", "cluster-w2-k8s-prepare", "cluster-w3-k8s-prepare"]);
    return changed.map((name) => {
        const [a, b] = [inputsOf(one, name)!, inputsOf(two, name)!];
        assert.deepEqual({ ...a, stdin: undefined }, { ...b, stdin: undefined }, `${name}: only stdin differs`);
        return [a, b];
    });
}

describe("images.caCert, images.username and imagesPassword: config", () => {
    it("none by default; a CA (one or several certificates) and an account are kept, the password never", () => {
        assert.equal(parse(withImages({})).images.caCert, undefined);
        assert.equal(parse(withImages({})).images.username, undefined);
        const images = parse(withImages({ caCert: `subject=CN = Mirror Test CA\n${CA}`, username: "robot$k8s" }), PASSWORD_FACTS).images;
        assert.equal(images.caCert, CA.trimEnd(), "only the certificate blocks are kept");
        assert.equal(images.username, "robot$k8s");
        assert.ok(!JSON.stringify(images).includes("password"));
        assert.equal(parse(withImages({ caCert: CA + CA2 })).images.caCert, (CA + CA2).trimEnd());
    });

    it("refuses a CA that is not a certificate, naming the key and what is allowed; wrong types too", () => {
        const body = CA.split("\n").slice(1, -2).join("\n");
        const cases: [unknown, RegExp][] = [
            ["not a pem", /^k8s-platform:images\.caCert: has no PEM certificate; expected one or more PEM certificates \("-----BEGIN CERTIFICATE-----"/],
            [`-----BEGIN CERTIFICATE-----\n${body.replace(/[A-Z]/g, "A")}\n-----END CERTIFICATE-----\n`, /^k8s-platform:images\.caCert: the certificate does not parse as an X\.509 certificate \(/],
            [`${CA}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`, /^k8s-platform:images\.caCert: certificate 2 of 2 does not parse as an X\.509 certificate/],
            [fixture("mirror-ca-expired.crt"), /^k8s-platform:images\.caCert: the certificate \(CN=Expired Mirror CA\) expired on Jan {2}1 00:00:00 2021 GMT; give the CA's current certificate$/],
            [`${CA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`, /^k8s-platform:images\.caCert: holds a PRIVATE KEY block: only the CA's certificate belongs here/],
            [42, /^k8s-platform:images\.caCert: expected the PEM text of the mirrors' CA certificate \("-----BEGIN CERTIFICATE-----" …\), got the number 42$/],
            [["a"], /^k8s-platform:images\.caCert: expected the PEM text .*, got a list \["a"\]$/],
        ];
        for (const [caCert, expected] of cases) {
            const problems = problemsOf(withImages({ caCert }));
            assert.ok(problems.some((p) => expected.test(p)), `${JSON.stringify(caCert).slice(0, 60)}:\n${problems.join("\n")}`);
        }
    });

    it("refuses a user without a password, a password without a user, a plain or empty password, and a bad user name", () => {
        assert.deepEqual(problemsOf(withImages({ username: "robot" })), [
            "k8s-platform:imagesPassword: is required with images.username (the mirrors' password); set it with `pulumi config set --secret imagesPassword` (it prompts; or pipe the password on standard input)",
        ]);
        assert.deepEqual(problemsOf(withImages({}), PASSWORD_FACTS), [
            "k8s-platform:imagesPassword: is set but images.username is not; set images.username too, or remove it (`pulumi config rm imagesPassword`)",
        ]);
        assert.match(problemsOf(withImages({ username: "robot" }), { imagesPassword: { secret: false, empty: false } }).join("\n"), /^k8s-platform:imagesPassword: is stored in plain text in Pulumi\.<stack>\.yaml; it must be a secret/);
        assert.match(problemsOf(withImages({ username: "robot" }), { imagesPassword: { secret: true, empty: true } }).join("\n"), /^k8s-platform:imagesPassword: is empty/);
        assert.match(problemsOf(withImages({ username: "ro:bot" }), PASSWORD_FACTS).join("\n"), /^k8s-platform:images\.username: "ro:bot" is not a registry user name \(not empty, no ":"/);
        assert.match(problemsOf(withImages({ username: 5 }), PASSWORD_FACTS).join("\n"), /^k8s-platform:images\.username: expected the mirrors' user name as a string, got the number 5; YAML reads unquoted digits/);
        assert.match(problemsOf(withImages({ username: "" }), PASSWORD_FACTS).join("\n"), /^k8s-platform:images\.username: "" is not a registry user name/);
    });

    it("refuses a password inside the images map without echoing it, and a CA or account without any mirror", () => {
        const problems = problemsOf(withImages({ username: "robot", password: PASSWORD }), PASSWORD_FACTS);
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^k8s-platform:images\.password: the mirrors' password is not kept in the images map .*`pulumi config set --secret imagesPassword`/);
        assert.ok(!problems[0].includes("s3cret"));
        assert.deepEqual(problemsOf((raw) => (raw.images = { caCert: CA })), [
            "k8s-platform:images.caCert: no mirror is configured (images.registry or images.mirrors), so nothing would use it; set a mirror or remove the key",
        ]);
        assert.ok(problemsOf((raw) => (raw.images = { username: "robot" }), PASSWORD_FACTS).some((p) => p.startsWith("k8s-platform:images.username: no mirror is configured")));
        assert.ok(problemsOf((raw) => (raw.images = { caCert: CA }), {}, "aks").some((p) => p.startsWith("k8s-platform:images: mirrors are for kubeadm stacks")));
    });

    it("loadConfig refuses a password stored in plain text (the stack's own key, not a test flag)", async () => {
        await assert.rejects(
            synthStack("lab", withImages({ username: "robot" }), { extraKeys: { imagesPassword: { value: PASSWORD, secret: false } } }),
            (err: Error) => /k8s-platform:imagesPassword: is stored in plain text/.test(err.message) && !err.message.includes("s3cret"),
        );
        await assert.rejects(synthStack("lab", withImages({ username: "robot" })), /k8s-platform:imagesPassword: is required with images\.username/);
    });
});

describe("the CA and the account reach every node's preparation; the password only as a secret on standard input", () => {
    it("lab: IMAGE_MIRROR_CA and IMAGE_MIRROR_USERNAME on every prepare-node, the password on its stdin, nowhere else", async () => {
        const s = await synthStack("lab", withImages({ caCert: CA, username: "robot$k8s" }), { extraKeys: SECRET_PASSWORD });
        const prepares = commands(s).filter((c) => scriptOf(c) === "prepare-node");
        assert.equal(prepares.length, 4);
        for (const p of prepares) {
            assert.equal(envOf(p, "IMAGE_MIRROR_CA"), CA.trimEnd());
            assert.equal(envOf(p, "IMAGE_MIRROR_USERNAME"), "robot$k8s");
            assert.equal(maskSecrets(p.inputs.stdin), "[secret]", `${p.name}: stdin is a secret`);
            assert.equal(unwrapSecrets(p.inputs.stdin), `IMAGE_MIRROR_PASSWORD=${Buffer.from(PASSWORD).toString("base64")}\n`);
        }
        // Nowhere in plain form: every input of every resource with its secrets masked, and what
        // `npm run synth` writes (the commands' text is what runs on the host: no argument holds it).
        const forms = [PASSWORD, Buffer.from(PASSWORD).toString("base64"), Buffer.from(`robot$k8s:${PASSWORD}`).toString("base64")];
        const plain = JSON.stringify(s.resources.map((r) => maskSecrets(r.inputs))) + JSON.stringify(maskSecrets(s.outputs)) + Object.values(renderSynthesis(s)).join("\n");
        for (const form of forms) {
            assert.ok(!plain.includes(form), `the password shows as ${form.slice(0, 12)}…`);
        }
        const others = commands(s).filter((c) => scriptOf(c) !== "prepare-node");
        assert.ok(others.every((c) => !String(unwrapSecrets(c.inputs.stdin) ?? "").includes("IMAGE_MIRROR_PASSWORD")));
    });

    it("without a CA or an account: no such parameter and no standard input on the preparation", async () => {
        const s = await synthStack("lab", withImages({}));
        for (const p of commands(s).filter((c) => scriptOf(c) === "prepare-node")) {
            assert.equal(envOf(p, "IMAGE_MIRROR_CA"), undefined);
            assert.equal(envOf(p, "IMAGE_MIRROR_USERNAME"), undefined);
            assert.equal(p.inputs.stdin, undefined);
        }
    });
});

describe("setting, changing and removing the CA or the account on a running stack", () => {
    const PREPARE_ONLY = [
        "prepare-node@m-k8s",
        "prepare-node@w1-k8s",
        "prepare-node@w2-k8s",
        "prepare-node@w3-k8s",
        "reachable@m-k8s",
        "reachable@w1-k8s",
        "reachable@w2-k8s",
        "reachable@w3-k8s",
    ];
    const variants: Record<string, [(raw: RawConfig) => void, Record<string, { value: string; secret: boolean }>]> = {
        "no CA, anonymous": [withImages({}), {}],
        "a CA": [withImages({ caCert: CA }), {}],
        "another CA": [withImages({ caCert: CA2 }), {}],
        "an account": [withImages({ username: "robot" }), SECRET_PASSWORD],
        "another user": [withImages({ username: "robot2" }), SECRET_PASSWORD],
    };
    const render = async (name: string) => renderSynthesis(await synthStack("lab", variants[name][0], { extraKeys: variants[name][1] }));

    for (const [from, to] of [
        ["no CA, anonymous", "a CA"],
        ["a CA", "another CA"],
        ["a CA", "no CA, anonymous"],
        ["no CA, anonymous", "an account"],
        ["an account", "another user"],
        ["an account", "no CA, anonymous"],
    ]) {
        it(`${from} → ${to}: every node's preparation runs again (and its reachability check), nothing else changes`, async () => {
            const d = compareRenderings("lab", await render(from), await render(to));
            const n = nextUp(d);
            assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`), PREPARE_ONLY);
            assert.deepEqual([n.firstRun, n.deleteRun, d.added, d.removed], [[], [], [], []]);
            assert.deepEqual(d.changed.filter((c) => c.resource.type !== "command:remote:Command").map((c) => c.resource.name), []);
            assert.ok(!textReport(d, { showAdded: true }).includes(PASSWORD));
        });
    }

    it("a changed password changes only the preparations' standard input (a secret: synth:diff shows no text, the engine's diff `stdin: [secret]`)", async () => {
        const one = await synthStack("lab", withImages({ username: "robot" }), { extraKeys: SECRET_PASSWORD });
        const two = await synthStack("lab", withImages({ username: "robot" }), { extraKeys: { imagesPassword: { value: "another-password", secret: true } } });
        onlyStdinChanged(one, two);
    });
});

// Per mirror host settings (images.hosts, the secret imagesHostPasswords) and plain-HTTP mirrors
// ("http://" in images.registry / images.mirrors): a site whose mirrors differ.
const HARBOR = "harbor.example.com";
const LAB = "lab.example.com:5000";
const OLD = "old.example.com";
const HOST_PASSWORD = "h0st-Pw:with'quote and space";
const HOST_PASSWORDS = (hosts: Record<string, string> = { [HARBOR]: HOST_PASSWORD }, secret = true) => ({
    imagesHostPasswords: { value: JSON.stringify(hosts), secret },
});
const hostFacts = (hosts: Record<string, unknown> = { [HARBOR]: HOST_PASSWORD }, secret = true) => ({
    imagesHostPasswords: hostPasswordsFacts(JSON.stringify(hosts), secret),
});
/** Harbor (its own CA and robot account) for every source, a plain-HTTP lab registry for
 * docker.io, a mirror whose certificate cannot be verified for quay.io. */
type SiteImages = { registry: string; mirrors: Record<string, string>; hosts: Record<string, Record<string, unknown>>; [key: string]: unknown };
const SITE: SiteImages = {
    registry: `${HARBOR}/mirror`,
    mirrors: { "docker.io": `http://${LAB}/hub`, "quay.io": `${OLD}/quay` },
    hosts: { [HARBOR]: { caCert: CA, username: "robot$k8s" }, [OLD]: { skipVerify: true } },
};
const site = (edit: (images: SiteImages) => void = () => {}) => (raw: RawConfig) => {
    const images = structuredClone(SITE);
    edit(images);
    raw.images = images;
};

describe("images.hosts and plain-HTTP mirrors: config", () => {
    it("each host's own CA, account and skipVerify; http:// marks a plain-HTTP host and never reaches an image reference", () => {
        const images = parse(site(), hostFacts()).images;
        assert.deepEqual(images.mirrors, { "registry.k8s.io": `${HARBOR}/mirror`, "docker.io": `${LAB}/hub`, "quay.io": `${OLD}/quay`, "ghcr.io": `${HARBOR}/mirror` });
        assert.deepEqual(images.plainHttp, [LAB]);
        assert.deepEqual(images.hosts, { [HARBOR]: { caCert: CA.trimEnd(), username: "robot$k8s" }, [OLD]: { skipVerify: true } });
        assert.ok(!JSON.stringify(images).includes(HOST_PASSWORD));
        assert.equal(imageFor("registry:3.0.0", images.mirrors), `${LAB}/hub/library/registry:3.0.0`);
        assert.deepEqual(kubeadmImageSettings(images.mirrors), { imageRepository: `${HARBOR}/mirror`, dns: { imageRepository: `${HARBOR}/mirror/coredns` } });
        // skipVerify: false is the default (not kept); a host with no settings of its own is kept
        // (it opts out of the stack-wide CA and account).
        const quiet = parse(site((i) => (i.hosts = { [OLD]: { skipVerify: false }, [LAB]: {} })), {}).images;
        assert.deepEqual(quiet.hosts, { [OLD]: {}, [LAB]: {} });
        // Without images.hosts or http://, the typed config is what it was.
        assert.deepEqual(parse(withImages({ caCert: CA })).images, { mirrors: parse(withImages({})).images.mirrors, caCert: CA.trimEnd() });
    });

    it("refuses a host no mirror uses (naming the mirrors' hosts), wrong types and unknown keys, naming the key and what is allowed", () => {
        const cases: [(i: SiteImages) => void, RegExp][] = [
            [(i) => (i.hosts = { "harbor.example.org": {} }), /^k8s-platform:images\.hosts\.harbor\.example\.org: "harbor\.example\.org" is not the host of any mirror \(did you mean "harbor\.example\.com"\?\); the mirrors' hosts: harbor\.example\.com, lab\.example\.com:5000, old\.example\.com\. Keys are "host\[:port\]"/],
            [(i) => (i.hosts = { "http://lab.example.com:5000": {} }), /^k8s-platform:images\.hosts\.http:\/\/lab\.example\.com:5000: .* is not the host of any mirror/],
            [(i) => (i.hosts = ["a"] as never), /^k8s-platform:images\.hosts: expected a map of mirror host → its settings, e\.g\. .*, got a list \["a"\]$/],
            [(i) => (i.hosts = { [OLD]: "skip" } as never), /^k8s-platform:images\.hosts\.old\.example\.com: expected a map of keys \(caCert, username, skipVerify\), got "skip"$/],
            [(i) => (i.hosts = { [OLD]: { skipVerify: "yes" } }), /^k8s-platform:images\.hosts\.old\.example\.com\.skipVerify: expected true or false \(containerd's skip_verify: .*\), got "yes"$/],
            [(i) => (i.hosts = { [OLD]: { insecure: true } }), /^k8s-platform:images\.hosts\.old\.example\.com: unknown key "insecure"; allowed keys: caCert, username, skipVerify$/],
            [(i) => (i.hosts = { [OLD]: { caCert: 42 } }), /^k8s-platform:images\.hosts\.old\.example\.com\.caCert: expected the PEM text .*, got the number 42$/],
            [(i) => (i.hosts = { [OLD]: { caCert: "not a pem" } }), /^k8s-platform:images\.hosts\.old\.example\.com\.caCert: has no PEM certificate/],
            [(i) => (i.hosts = { [OLD]: { username: 7 } }), /^k8s-platform:images\.hosts\.old\.example\.com\.username: expected the mirrors' user name as a string, got the number 7/],
            [(i) => (i.hosts = { [OLD]: { username: "a:b" } }), /^k8s-platform:images\.hosts\.old\.example\.com\.username: "a:b" is not a registry user name/],
            [(i) => (i.hosts = { [LAB]: { caCert: CA } }), /^k8s-platform:images\.hosts\.lab\.example\.com:5000\.caCert: lab\.example\.com:5000 is a plain-HTTP mirror \("http:\/\/"\), which has no certificate to verify/],
            [(i) => (i.hosts = { [LAB]: { skipVerify: true } }), /^k8s-platform:images\.hosts\.lab\.example\.com:5000\.skipVerify: lab\.example\.com:5000 is a plain-HTTP mirror/],
            [(i) => (i.hosts = { [OLD]: { skipVerify: true, caCert: CA } }), /^k8s-platform:images\.hosts\.old\.example\.com\.skipVerify: true turns off the verification caCert is for/],
            [(i) => (i.mirrors = { "docker.io": `http://${LAB}/hub`, "quay.io": `${LAB}/quay` }), /^k8s-platform:images\.mirrors\.docker\.io: lab\.example\.com:5000 is a plain-HTTP mirror here \("http:\/\/"\) but HTTPS in images\.mirrors\.quay\.io; a host speaks one of them/],
            [(i) => (i.registry = `https://${HARBOR}`), /^k8s-platform:images\.registry: "https:\/\/harbor\.example\.com" has a URL scheme; .*without "https:\/\/".*or "http:\/\/host\[:port\]\[\/path\]" for a plain-HTTP mirror/],
            [(i) => (i.mirrors = { "docker.io": "http://https://x.example.com" }), /^k8s-platform:images\.mirrors\.docker\.io: "http:\/\/https:\/\/x\.example\.com" has a URL scheme/],
            [(i) => (i.caCert = CA), /^k8s-platform:images\.caCert: the mirror hosts it would apply to \(lab\.example\.com:5000\) are plain HTTP, which has no certificate to verify; remove it$/],
            [(i) => ((i.username = "everyone"), (i.hosts = { ...i.hosts, [LAB]: {} })), /^k8s-platform:images\.username: every mirror host has its own settings in images\.hosts \(harbor\.example\.com, lab\.example\.com:5000, old\.example\.com\), so nothing uses it/],
        ];
        for (const [edit, expected] of cases) {
            const problems = problemsOf(site(edit), { ...hostFacts(), ...PASSWORD_FACTS });
            assert.ok(problems.some((p) => expected.test(p)), `${expected}:\n${problems.join("\n")}`);
        }
        assert.ok(problemsOf((raw) => (raw.images = { hosts: { [HARBOR]: {} } })).some((p) => /^k8s-platform:images\.hosts\.harbor\.example\.com: .* no mirror is configured/.test(p)));
        assert.ok(problemsOf((raw) => (raw.images = { hosts: { [HARBOR]: {} } }), {}, "aks").some((p) => p.startsWith("k8s-platform:images: mirrors are for kubeadm stacks")));
    });

    it("a host's password: required with its user name, only for hosts with one, a secret map, usable; never echoed", () => {
        const refused = (edit: (i: SiteImages) => void, opts: Partial<ParseOptions>) => problemsOf(site(edit), opts);
        assert.deepEqual(refused(() => {}, {}), [
            `k8s-platform:imagesHostPasswords.harbor.example.com: is required with images.hosts.harbor.example.com.username (that host's password); set it with \`pulumi config set --secret --path 'imagesHostPasswords["harbor.example.com"]'\` (it prompts; or pipe the password on standard input; --secret for every host: Pulumi marks the whole key secret when any of its values is, so a value set without it would stay readable in Pulumi.<stack>.yaml)`,
        ]);
        const cases: [Record<string, unknown>, boolean, RegExp][] = [
            [{ [HARBOR]: HOST_PASSWORD, [OLD]: "x" }, true, /^k8s-platform:imagesHostPasswords\.old\.example\.com: is set but images\.hosts\.old\.example\.com\.username is not; .*`pulumi config rm --path 'imagesHostPasswords\["old\.example\.com"\]'`/],
            [{ [HARBOR]: HOST_PASSWORD }, false, /^k8s-platform:imagesHostPasswords: is stored in plain text in Pulumi\.<stack>\.yaml; it must be a secret/],
            [{ [HARBOR]: "" }, true, /^k8s-platform:imagesHostPasswords\.harbor\.example\.com: is empty/],
            [{ [HARBOR]: "one\ntwo" }, true, /^k8s-platform:imagesHostPasswords\.harbor\.example\.com: holds a line break \(not shown\)/],
            [{ [HARBOR]: 1234 }, true, /^k8s-platform:imagesHostPasswords\.harbor\.example\.com: expected the password as a string \(not shown\)/],
        ];
        for (const [passwords, secret, expected] of cases) {
            const problems = refused(() => {}, hostFacts(passwords, secret));
            assert.ok(problems.some((p) => expected.test(p)), `${expected}:\n${problems.join("\n")}`);
            assert.ok(!problems.join("\n").includes(HOST_PASSWORD) && !problems.join("\n").includes("one\ntwo") && !problems.join("\n").includes("1234"));
        }
        assert.match(refused(() => {}, { imagesHostPasswords: hostPasswordsFacts(HOST_PASSWORD, true) }).join("\n"), /^k8s-platform:imagesHostPasswords: expected a map of mirror host → password, got a single string;/m);
        assert.match(refused(() => {}, { imagesHostPasswords: hostPasswordsFacts('["a"]', true) }).join("\n"), /got a list;/);
        // Written into the images map: taken out unseen and refused.
        const inMap = refused((i) => (i.hosts[HARBOR].password = HOST_PASSWORD), hostFacts());
        assert.equal(inMap.length, 1, inMap.join("\n"));
        assert.match(inMap[0], /^k8s-platform:images\.hosts\.harbor\.example\.com\.password: a mirror host's password is not kept in the images map; remove it/);
        assert.ok(!inMap[0].includes(HOST_PASSWORD));
    });

    it("loadConfig reads imagesHostPasswords as a secret key of its own (the stack's key, not a test flag)", async () => {
        await assert.rejects(
            synthStack("lab", site(), { extraKeys: HOST_PASSWORDS(undefined, false) }),
            (err: Error) => /k8s-platform:imagesHostPasswords: is stored in plain text/.test(err.message) && !err.message.includes("h0st-Pw"),
        );
        await synthStack("lab", site(), { extraKeys: HOST_PASSWORDS() });
    });
});

describe("per-host settings reach every node's preparation; each host's password only as a secret on standard input", () => {
    it("lab: IMAGE_MIRRORS with http://, the hosts' CA, user names and skipVerify as parameters; the passwords on stdin, in no plain or base64 form anywhere", async () => {
        const s = await synthStack("lab", site((i) => ((i.username = "everyone"), (i.caCert = CA2), (i.mirrors["ghcr.io"] = "ghcr-mirror.example.com/ghcr"))), { extraKeys: { ...HOST_PASSWORDS(), ...SECRET_PASSWORD } });
        const prepares = commands(s).filter((c) => scriptOf(c) === "prepare-node");
        assert.equal(prepares.length, 4);
        for (const p of prepares) {
            assert.equal(envOf(p, "IMAGE_MIRRORS"), `registry.k8s.io=${HARBOR}/mirror docker.io=http://${LAB}/hub quay.io=${OLD}/quay ghcr.io=ghcr-mirror.example.com/ghcr`);
            assert.equal(envOf(p, "IMAGE_MIRROR_HOSTS"), `${HARBOR} ${OLD}`);
            assert.equal(envOf(p, "IMAGE_MIRROR_HOST_CA"), `# host ${HARBOR}\n${CA.trimEnd()}`);
            assert.equal(envOf(p, "IMAGE_MIRROR_HOST_USERNAMES"), `${HARBOR}=robot$k8s`);
            assert.equal(envOf(p, "IMAGE_MIRROR_SKIP_VERIFY"), OLD);
            assert.equal(envOf(p, "IMAGE_MIRROR_CA"), CA2.trimEnd());
            assert.equal(envOf(p, "IMAGE_MIRROR_USERNAME"), "everyone");
            assert.equal(maskSecrets(p.inputs.stdin), "[secret]", `${p.name}: stdin is a secret`);
            assert.equal(
                unwrapSecrets(p.inputs.stdin),
                `IMAGE_MIRROR_HOST_PASSWORDS=${Buffer.from(`${HARBOR}=${HOST_PASSWORD}`).toString("base64")}\nIMAGE_MIRROR_PASSWORD=${Buffer.from(PASSWORD).toString("base64")}\n`,
            );
        }
        const forms = [
            HOST_PASSWORD,
            Buffer.from(HOST_PASSWORD).toString("base64"),
            Buffer.from(`${HARBOR}=${HOST_PASSWORD}`).toString("base64"),
            Buffer.from(`robot$k8s:${HOST_PASSWORD}`).toString("base64"),
        ];
        const plain = JSON.stringify(s.resources.map((r) => maskSecrets(r.inputs))) + JSON.stringify(maskSecrets(s.outputs)) + Object.values(renderSynthesis(s)).join("\n");
        for (const form of forms) {
            assert.ok(!plain.includes(form), `the host password shows as ${form.slice(0, 12)}…`);
        }
    });

    it("no scheme in any image reference: http:// is only in prepare-node's IMAGE_MIRRORS", async () => {
        const s = await synthStack("lab", site(), { extraKeys: HOST_PASSWORDS() });
        const rendered = renderSynthesis(s);
        const all = Object.entries(rendered).flatMap(([file, text]) => text.split("\n").map((line) => `${file}: ${line}`));
        const withScheme = all.filter((line) => line.includes(`http://${LAB}`));
        assert.ok(withScheme.length > 0);
        assert.ok(withScheme.every((line) => line.includes(`export IMAGE_MIRRORS='`)), withScheme.join("\n"));
        assert.ok(all.some((line) => line.includes(`${LAB}/hub/library/registry:`)), "the registry workload pulls from the lab mirror");
    });
});

describe("setting, changing and removing per-host settings and plain HTTP on a running stack", () => {
    const PREPARE_ONLY = ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"].flatMap((n) => [`prepare-node@${n}`]).concat(["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"].map((n) => `reachable@${n}`));
    const base = { registry: `${HARBOR}/mirror`, mirrors: { "docker.io": `${LAB}/hub` } };
    const variants: Record<string, [Record<string, unknown>, Record<string, { value: string; secret: boolean }>]> = {
        "HTTPS everywhere, no host settings": [base, {}],
        "the lab registry plain HTTP": [{ ...base, mirrors: { "docker.io": `http://${LAB}/hub` } }, {}],
        "harbor's own CA": [{ ...base, hosts: { [HARBOR]: { caCert: CA } } }, {}],
        "harbor's other CA": [{ ...base, hosts: { [HARBOR]: { caCert: CA2 } } }, {}],
        "harbor's account": [{ ...base, hosts: { [HARBOR]: { username: "robot$k8s" } } }, HOST_PASSWORDS()],
        "the lab's certificate not verified": [{ ...base, hosts: { [LAB]: { skipVerify: true } } }, {}],
    };
    const render = async (name: string) => renderSynthesis(await synthStack("lab", (raw) => (raw.images = variants[name][0]), { extraKeys: variants[name][1] }));
    const from = "HTTPS everywhere, no host settings";
    for (const to of Object.keys(variants).filter((v) => v !== from)) {
        for (const [a, b] of [[from, to], [to, from]]) {
            it(`${a} → ${b}: every node's preparation runs again (and its reachability check), nothing else changes`, async () => {
                const d = compareRenderings("lab", await render(a), await render(b));
                const n = nextUp(d);
                assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`).sort(), [...PREPARE_ONLY].sort());
                assert.deepEqual([n.firstRun, n.deleteRun, d.added, d.removed], [[], [], [], []]);
                assert.deepEqual(d.changed.filter((c) => c.resource.type !== "command:remote:Command").map((c) => c.resource.name), []);
                assert.ok(!textReport(d, { showAdded: true }).includes(HOST_PASSWORD));
            });
        }
    }
    it("harbor's CA → another CA: a change between two host settings re-runs only the preparations", async () => {
        const n = nextUp(compareRenderings("lab", await render("harbor's own CA"), await render("harbor's other CA")));
        assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`).sort(), [...PREPARE_ONLY].sort());
    });

    it("a host's changed password changes only the preparations' standard input (a secret)", async () => {
        const images = (raw: RawConfig) => (raw.images = variants["harbor's account"][0]);
        const one = await synthStack("lab", images, { extraKeys: HOST_PASSWORDS() });
        const two = await synthStack("lab", images, { extraKeys: HOST_PASSWORDS({ [HARBOR]: "another-password" }) });
        for (const [, b] of onlyStdinChanged(one, two)) {
            assert.equal(maskSecrets(b.stdin), "[secret]");
        }
    });
});

describe("npm run synth of a committed stack file with per-host passwords", () => {
    it("a map whose values are `secure:` is a secret key with placeholders (as Pulumi marks it), not plain JSON of ciphertext", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-hosts-"));
        try {
            fs.writeFileSync(
                path.join(root, "Pulumi.site.yaml"),
                'config:\n  k8s-platform:imagesHostPasswords:\n    harbor.example.com:\n      secure: v1:abc:def\n  k8s-platform:images:\n    hosts:\n      harbor.example.com:\n        username: robot\n',
            );
            const { config, secretKeys } = readStackFile("site", { root });
            assert.ok(secretKeys.includes("k8s-platform:imagesHostPasswords"), secretKeys.join(", "));
            assert.ok(!secretKeys.includes("k8s-platform:images"));
            const passwords = JSON.parse(config["k8s-platform:imagesHostPasswords"]) as Record<string, unknown>;
            assert.equal(typeof passwords["harbor.example.com"], "string");
            assert.ok(!config["k8s-platform:imagesHostPasswords"].includes("v1:abc"));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
