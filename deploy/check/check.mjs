// deploy/check/check.mjs: offline checks of the Kubernetes manifests.
//
//   node check.mjs render DIR           print DIR's kustomization, rendered
//   node check.mjs check DIR|- [FILE...] check DIR's rendering (- none) and FILEs
//   node check.mjs same DIR FILE        FILE holds the objects DIR renders to
//
// Rendering: DIR/kustomization.yaml may only list `resources:` (files in
// DIR); the rendering is those files' documents, in order. That is what
// `kubectl kustomize` makes of such a kustomization (it also sorts by kind,
// which the comparison in tests/integration/deploy_k8s.sh ignores).
//
// Every object is checked
//   1. against the Kubernetes OpenAPI schema of its kind, as the npm package
//      kubernetes-models (Kubernetes 1.36) compiles it: types, enums,
//      formats, required fields;
//   2. for fields the schema does not have (`kubectl --validate=strict`
//      would refuse them; the schema alone lets them through), from the
//      same package's type declarations;
//   3. for the six app.kubernetes.io/* labels, on the object and on its
//      pod template;
// and every pod template for the restricted Pod Security Standard
// (runAsNonRoot, runAsUser not 0, seccompProfile RuntimeDefault or
// Localhost, allowPrivilegeEscalation false, capabilities drop ALL and add
// nothing but NET_BIND_SERVICE, no privileged, no host namespaces, ports or
// paths, only the volume types it allows), plus ferry's own rules: a
// read-only root file system, resource requests and a memory limit, and
// Secret volumes of mode 0400.
//
// Prints one line per problem ("FILE: KIND/NAME: PATH: problem") and exits
// 1 when there is any; else prints what it checked and exits 0.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const NM = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules");
const problems = [];
const say = (where, msg) => problems.push(`${where}: ${msg}`);

// ---- rendering -------------------------------------------------------------

function readDocs(file) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1" });
    const out = [];
    for (const d of docs) {
        if (d.errors.length)
            throw new Error(`${file}: YAML: ${d.errors[0].message}`);
        const js = d.toJS();
        if (js !== null && js !== undefined)
            out.push({ file: path.basename(file), obj: js });
    }
    return out;
}

export function render(dir) {
    const kfile = path.join(dir, "kustomization.yaml");
    const [k] = readDocs(kfile).map((d) => d.obj);
    const allowed = new Set(["apiVersion", "kind", "resources"]);
    for (const key of Object.keys(k))
        if (!allowed.has(key))
            throw new Error(`${kfile}: "${key}": this renderer knows only resources: (keep the ` +
                            `kustomization that simple, or check with kubectl kustomize)`);
    const out = [];
    for (const r of k.resources || []) {
        if (r.includes("/") || !r.endsWith(".yaml"))
            throw new Error(`${kfile}: resource "${r}": only .yaml files beside it`);
        out.push(...readDocs(path.join(dir, r)));
    }
    return out;
}

// ---- 1. schema -------------------------------------------------------------

function modelPath(apiVersion, kind) {
    return `kubernetes-models/${apiVersion}/${kind}`;
}

async function checkSchema(where, obj) {
    let mod;
    try {
        mod = await import(modelPath(obj.apiVersion, obj.kind));
    } catch (e) {
        say(where, `no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
        return false;
    }
    try {
        new mod[obj.kind](obj).validate();
    } catch (e) {
        say(where, `schema: ${e.message}`);
    }
    return true;
}

// ---- 2. unknown fields, from the .d.ts interfaces ---------------------------

const ifaceCache = new Map();

// The first interface in a .d.ts: { props: {name: {kind, type}}, imports }.
function loadIface(file) {
    if (ifaceCache.has(file))
        return ifaceCache.get(file);
    const text = fs.readFileSync(file, "utf8");
    const imports = {};
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";/gm))
        imports[m[1]] = m[2];
    const lines = text.split("\n");
    let i = lines.findIndex((l) => /^export interface \w+/.test(l));
    let iface = null;
    if (i >= 0) {
        iface = { props: {}, imports, dir: path.dirname(file) };
        for (i++; i < lines.length && lines[i] !== "}"; i++) {
            const m = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i]);
            if (!m)
                continue;
            let t = m[2], kind = "leaf", type = null, a;
            if (t === "{") {                       /* a map: its value type */
                const v = /\[key: string\]: (.*);/.exec(lines[i + 1] || "");
                t = v ? v[1] : "";
                kind = "map";
            }
            else
                t = t.replace(/;$/, "");
            if ((a = /^Array<(\w+)>$/.exec(t)))
                [kind, type] = [kind === "map" ? "leaf" : "array", a[1]];
            else if (/^I\w+$/.test(t))
                [kind, type] = [kind === "map" ? "map" : "ref", t];
            else if (kind === "map")
                kind = "leaf";
            iface.props[m[1]] = { kind, type: type && imports[type] ? type : null };
        }
    }
    ifaceCache.set(file, iface);
    return iface;
}

function resolveType(iface, type) {
    const spec = iface.imports[type];
    if (!spec)
        return null;
    const f = spec.startsWith(".") ? path.join(iface.dir, spec.replace(/\.js$/, ".d.ts"))
                                   : path.join(NM, `${spec}.d.ts`);
    return fs.existsSync(f) ? f : null;
}

function checkFields(where, value, iface, at) {
    if (!iface || value === null || typeof value !== "object" || Array.isArray(value))
        return;
    for (const [key, v] of Object.entries(value)) {
        const p = iface.props[key];
        if (!p) {
            say(where, `${at}/${key}: unknown field (not in the schema)`);
            continue;
        }
        if (!p.type || p.kind === "leaf")
            continue;
        const file = resolveType(iface, p.type);
        const sub = file ? loadIface(file) : null;
        if (!sub)
            continue;
        if (p.kind === "ref")
            checkFields(where, v, sub, `${at}/${key}`);
        else if (p.kind === "array" && Array.isArray(v))
            v.forEach((e, n) => checkFields(where, e, sub, `${at}/${key}/${n}`));
        else if (p.kind === "map" && v && typeof v === "object")
            for (const [mk, mv] of Object.entries(v))
                checkFields(where, mv, sub, `${at}/${key}/${mk}`);
    }
}

function checkUnknown(where, obj) {
    checkFields(where, obj, loadIface(path.join(NM, `${modelPath(obj.apiVersion, obj.kind)}.d.ts`)), "");
}

// ---- 3. labels -------------------------------------------------------------

const LABELS = ["name", "instance", "version", "component", "part-of", "managed-by"]
    .map((l) => `app.kubernetes.io/${l}`);

function checkLabels(where, meta, at) {
    const labels = (meta && meta.labels) || {};
    for (const l of LABELS)
        if (typeof labels[l] !== "string" || !labels[l])
            say(where, `${at}/labels: missing ${l}`);
}

// ---- 4. restricted Pod Security Standard, and ferry's rules ----------------

const VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                              "persistentVolumeClaim", "projected", "secret"]);

function checkPod(where, spec, at) {
    const psc = spec.securityContext || {};
    for (const host of ["hostNetwork", "hostPID", "hostIPC"])
        if (spec[host])
            say(where, `${at}/${host}: must not be true (restricted)`);
    if (psc.runAsUser === 0)
        say(where, `${at}/securityContext/runAsUser: 0 (restricted: not root)`);
    for (const v of spec.volumes || []) {
        const type = Object.keys(v).find((k) => k !== "name");
        if (!VOLUME_TYPES.has(type))
            say(where, `${at}/volumes/${v.name}: type ${type} is not allowed (restricted)`);
        if (type === "secret" && v.secret.defaultMode !== 0o400)
            say(where, `${at}/volumes/${v.name}/secret/defaultMode: must be 0400 (256), got ` +
                `${v.secret.defaultMode === undefined ? "none (0644)" : v.secret.defaultMode}`);
    }
    const all = [...(spec.initContainers || []), ...(spec.containers || []),
                 ...(spec.ephemeralContainers || [])];
    for (const c of all) {
        const cat = `${at}/containers/${c.name}`;
        const sc = c.securityContext || {};
        const pick = (k) => (sc[k] !== undefined ? sc[k] : psc[k]);
        if (pick("runAsNonRoot") !== true)
            say(where, `${cat}: runAsNonRoot must be true (restricted)`);
        if (sc.runAsUser === 0)
            say(where, `${cat}/securityContext/runAsUser: 0 (restricted: not root)`);
        const sp = pick("seccompProfile");
        if (!sp || !["RuntimeDefault", "Localhost"].includes(sp.type))
            say(where, `${cat}: seccompProfile.type must be RuntimeDefault or Localhost ` +
                `(restricted), got ${sp ? sp.type : "none"}`);
        if (sc.allowPrivilegeEscalation !== false)
            say(where, `${cat}/securityContext/allowPrivilegeEscalation: must be false (restricted)`);
        if (sc.privileged)
            say(where, `${cat}/securityContext/privileged: must not be true (restricted)`);
        const caps = sc.capabilities || {};
        if (!(caps.drop || []).includes("ALL"))
            say(where, `${cat}/securityContext/capabilities/drop: must include ALL (restricted)`);
        for (const a of caps.add || [])
            if (a !== "NET_BIND_SERVICE")
                say(where, `${cat}/securityContext/capabilities/add: ${a} (restricted: only NET_BIND_SERVICE)`);
        if (sc.readOnlyRootFilesystem !== true)
            say(where, `${cat}/securityContext/readOnlyRootFilesystem: must be true (ferry)`);
        for (const p of c.ports || [])
            if (p.hostPort)
                say(where, `${cat}/ports/${p.name}: hostPort (restricted)`);
        const res = c.resources || {};
        if (!res.requests || !res.requests.cpu || !res.requests.memory || !res.limits
        ||  !res.limits.memory)
            say(where, `${cat}/resources: requests.cpu, requests.memory and limits.memory ` +
                `are required (ferry)`);
    }
}

function podTemplates(obj) {
    const s = obj.spec || {};
    if (obj.kind === "Pod")
        return [[obj, s, "/spec"]];
    if (obj.kind === "CronJob")
        return [[s.jobTemplate.spec.template, s.jobTemplate.spec.template.spec,
                 "/spec/jobTemplate/spec/template/spec"]];
    if (s.template && s.template.spec)
        return [[s.template, s.template.spec, "/spec/template/spec"]];
    return [];
}

export async function check(objects) {
    let pods = 0;
    for (const { file, obj } of objects) {
        const where = `${file}: ${obj.kind}/${(obj.metadata || {}).name}`;
        if (!(await checkSchema(where, obj)))
            continue;
        checkUnknown(where, obj);
        checkLabels(where, obj.metadata, "/metadata");
        for (const [tpl, spec, at] of podTemplates(obj)) {
            pods++;
            if (obj.kind !== "Pod")
                checkLabels(where, tpl.metadata, at.replace(/\/spec$/, "/metadata"));
            checkPod(where, spec, at);
        }
    }
    return pods;
}

// JSON with its keys sorted at every level.
function canonical(v) {
    if (Array.isArray(v))
        return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object")
        return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
    return JSON.stringify(v);
}

// The same objects, whatever the order of the objects and of their keys
// (kubectl kustomize sorts both).
function same(a, b) {
    const key = (o) => canonical(o.obj);
    const ka = a.map(key).sort(), kb = b.map(key).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

async function main() {
    const [cmd, dir, ...files] = process.argv.slice(2);
    if (!["render", "check", "same"].includes(cmd) || !dir) {
        console.error("usage: node check.mjs render DIR | check DIR|- [FILE...] | same DIR FILE");
        process.exit(2);
    }
    const objects = dir === "-" ? [] : render(dir);
    if (cmd === "render") {
        process.stdout.write(objects.map((o) => YAML.stringify(o.obj)).join("---\n"));
        return;
    }
    if (cmd === "same") {
        const other = readDocs(files[0]);
        if (!same(objects, other)) {
            console.log(`${files[0]} and the rendering of ${dir} differ`);
            process.exit(1);
        }
        console.log(`${files[0]}: the same ${other.length} object(s) as the rendering of ${dir}`);
        return;
    }
    for (const f of files)
        objects.push(...readDocs(f));
    const pods = await check(objects);
    for (const p of problems)
        console.log(p);
    if (problems.length) {
        console.log(`${problems.length} problem(s) in ${objects.length} object(s)`);
        process.exit(1);
    }
    console.log(`${objects.length} object(s), ${pods} pod template(s): schema (kubernetes-models ` +
                `${JSON.parse(fs.readFileSync(path.join(NM, "kubernetes-models/package.json"))).version}), ` +
                `no unknown field, ` +
                `app.kubernetes.io labels, restricted Pod Security: OK`);
}

main().catch((e) => {
    console.error(`check.mjs: ${e.message}`);
    process.exit(2);
});
