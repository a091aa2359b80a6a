// The mirrors' CA and credentials (issue 16 §4, its last closing note: "Mirrors must serve HTTPS
// with a certificate the nodes already trust, and allow anonymous pulls"): `images.caCert`,
// `images.username` and the secret `imagesPassword` reach every node's preparation — the CA and
// the user name as parameters, the password only as a secret on standard input — and what
// setting, changing and removing them on a running stack re-runs. The node side (the files
// containerd reads) is test/realroot/prepare-node.bats.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseConfig, ParseOptions } from "../config";
import { maskSecrets, unwrapSecrets } from "../tools/mockRuntime";
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
        const changed = one.resources
            .filter((r) => JSON.stringify(unwrapSecrets(r.inputs)) !== JSON.stringify(unwrapSecrets(two.resources.find((x) => x.name === r.name)?.inputs)))
            .map((r) => r.name);
        assert.deepEqual(changed, ["cluster-m-k8s-prepare", "cluster-w1-k8s-prepare", "cluster-w2-k8s-prepare", "cluster-w3-k8s-prepare"]);
        for (const name of changed) {
            const [a, b] = [one, two].map((s) => s.resources.find((r) => r.name === name)!.inputs);
            assert.deepEqual({ ...a, stdin: undefined }, { ...b, stdin: undefined }, `${name}: only stdin differs`);
        }
    });
});
