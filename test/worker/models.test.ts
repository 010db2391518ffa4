import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ZeroHash } from "ethers";
import { buildIdentityModel, buildMlpClassifier } from "../../src/models/build";
import { ProfileError, buildProfileModel, computeTrace, weightsRoot } from "../../src/proven";
import {
  FetchError,
  HashMismatchError,
  ModelStore,
  WeightsRootMismatchError,
  ipfsUrl,
  sha256Hex,
} from "../../src/worker/clients/models";
import { GOLDEN_FILE, GOLDEN_INPUT, GOLDEN_MODEL } from "../fixtures/proven";
import { ModelLoadError, runModel } from "../../packages/sdk/src/onnx";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("worker model store", function () {
  let dir: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];
  const mlp = buildMlpClassifier();

  before(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "trustml-models-"));
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === "/mlp.onnx" || req.url === "/ipfs/bafyMLP/model.onnx") res.writeHead(200).end(Buffer.from(mlp));
      else res.writeHead(404).end("not here");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async function () {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const store = (name: string) =>
    new ModelStore({ cacheDir: path.join(dir, name), ipfsGateway: base, timeoutMs: 5000, maxBytes: 1 << 24 });
  const ref = (uri: string, contentHash = sha256Hex(mlp), root = ZeroHash) => ({
    modelId: 1n,
    version: 1n,
    contentHash,
    uri,
    weightsRoot: root,
  });

  it("fetches a file:// model, checks its sha256 and loads it", async function () {
    const file = path.join(dir, "mlp.onnx");
    writeFileSync(file, mlp);
    const s = store("file");
    const got = await s.bytes(ref(pathToFileURL(file).href));
    expect(got.source).to.equal("fetch");
    expect(Buffer.from(got.bytes).equals(Buffer.from(mlp))).to.equal(true);
    const model = await s.load(ref(pathToFileURL(file).href));
    expect(model.inputs.map((i) => i.name)).to.deep.equal(["features"]);
    const out = await runModel(model, [
      { name: "features", type: "float32", shape: [1, 4], data: new Float32Array(4) },
    ]);
    expect(out.map((t) => t.name)).to.deep.equal(["probabilities", "label"]);
    await s.close();
  });

  it("rejects a hash mismatch, naming both hashes", async function () {
    const file = path.join(dir, "mlp2.onnx");
    writeFileSync(file, mlp);
    const wrong = sha256Hex(Buffer.from("something else"));
    const e = await rejection(store("mismatch").bytes(ref(pathToFileURL(file).href, wrong)));
    expect(e).to.be.instanceOf(HashMismatchError);
    expect(e.message).to.include(wrong).and.include(sha256Hex(mlp));
  });

  it("reports a file that is not ONNX as ModelLoadError, and an unfetchable URI as FetchError", async function () {
    const junk = Buffer.from("not a model at all");
    const file = path.join(dir, "junk.onnx");
    writeFileSync(file, junk);
    const s = store("junk");
    const e = await rejection(s.load(ref(pathToFileURL(file).href, sha256Hex(junk))));
    expect(e).to.be.instanceOf(ModelLoadError);
    const missing = await rejection(s.bytes(ref(pathToFileURL(path.join(dir, "absent.onnx")).href)));
    expect(missing).to.be.instanceOf(FetchError);
    expect(missing.message).to.include("absent.onnx");
    const scheme = await rejection(s.bytes(ref("ftp://example.com/m.onnx")));
    expect(scheme).to.be.instanceOf(FetchError);
    const http404 = await rejection(s.bytes(ref(`${base}/nope.onnx`)));
    expect(http404.message).to.include("HTTP 404");
  });

  it("fetches over http:// and ipfs:// (through the gateway), and a cache hit does not fetch again", async function () {
    const s = store("http");
    requests.length = 0;
    expect((await s.bytes(ref(`${base}/mlp.onnx`))).source).to.equal("fetch");
    expect(requests).to.deep.equal(["/mlp.onnx"]);
    expect((await s.bytes(ref(`${base}/mlp.onnx`))).source).to.equal("cache");
    const again = store("http"); // a new process with the same cache directory
    expect((await again.bytes(ref(`${base}/mlp.onnx`))).source).to.equal("cache");
    expect(requests).to.have.length(1);
    const [a, b] = await Promise.all([again.load(ref(`${base}/mlp.onnx`)), again.load(ref(`${base}/mlp.onnx`))]);
    expect(a).to.equal(b, "one session per content hash");
    await again.close();

    expect(ipfsUrl("ipfs://bafyMLP/model.onnx", base + "/")).to.equal(`${base}/ipfs/bafyMLP/model.onnx`);
    const ipfs = store("ipfs");
    expect((await ipfs.bytes(ref("ipfs://bafyMLP/model.onnx"))).source).to.equal("fetch");
    expect(requests).to.include("/ipfs/bafyMLP/model.onnx");
  });

  describe("a version with a weights root", function () {
    const profile = buildProfileModel(GOLDEN_MODEL);
    const root = weightsRoot(GOLDEN_MODEL.layers);
    const wrongRoot = weightsRoot(GOLDEN_MODEL.layers.slice(0, 1));
    let uri: string;
    before(function () {
      const file = path.join(dir, "profile.onnx");
      writeFileSync(file, profile);
      uri = pathToFileURL(file).href;
    });

    it("loads when the root recomputed from the file is the registry's", async function () {
      const s = store("root-ok");
      const model = await s.load(ref(uri, sha256Hex(profile), root));
      expect(model.inputs.map((i) => i.name)).to.deep.equal([GOLDEN_MODEL.inputName]);
      await s.close();
    });

    it("refuses another root, naming both roots, and keeps refusing the same bytes under that root", async function () {
      const s = store("root-wrong");
      const wrong = { ...ref(uri, sha256Hex(profile), wrongRoot), modelId: 7n, version: 2n };
      const e = await rejection(s.load(wrong));
      expect(e).to.be.instanceOf(WeightsRootMismatchError);
      expect(e.message)
        .to.include("model 7 version 2")
        .and.include(`weightsRoot of the file is ${root}`)
        .and.include(`the registry says ${wrongRoot}`);
      expect((e as WeightsRootMismatchError).expected).to.equal(wrongRoot);
      expect((e as WeightsRootMismatchError).actual).to.equal(root);
      expect(await rejection(s.load(wrong))).to.equal(e, "the verdict on a version is final");
      // The same bytes under their right root (another owner's version) still load from the same store.
      await s.load(ref(uri, sha256Hex(profile), root));
      await s.close();
    });

    it("reads a Proven version as a profile model, with its tree, and one runtime per content hash", async function () {
      const s = store("profile");
      const r = ref(uri, sha256Hex(profile), root);
      const { model, tree } = await s.profile(r);
      expect(model.inputName).to.equal(GOLDEN_MODEL.inputName);
      expect(model.outputName).to.equal(GOLDEN_MODEL.outputName);
      expect(model.layers.map((l) => [l.nIn, l.nOut, l.multiplier, l.shift])).to.deep.equal(
        GOLDEN_MODEL.layers.map((l) => [l.nIn, l.nOut, l.multiplier, l.shift]),
      );
      expect(tree.root).to.equal(root);
      const [a, b] = await Promise.all([s.profileRuntime(r), s.profileRuntime(r)]);
      expect(a).to.equal(b, "one runtime per content hash");
      const trace = await computeTrace(a, GOLDEN_INPUT);
      const golden = JSON.parse(readFileSync(GOLDEN_FILE, "utf8")) as { output: { encoded: string } };
      expect("0x" + Buffer.from(trace.output).toString("hex")).to.equal(golden.output.encoded);
      await s.close();
    });

    it("refuses a profile under another root as load does; a file outside the profile is a ProfileError", async function () {
      const s = store("profile-wrong");
      const wrong = await rejection(s.profile(ref(uri, sha256Hex(profile), wrongRoot)));
      expect(wrong).to.be.instanceOf(WeightsRootMismatchError);
      expect(wrong.message).to.include(`the registry says ${wrongRoot}`);
      expect(await rejection(s.profileRuntime(ref(uri, sha256Hex(profile), wrongRoot)))).to.equal(wrong);
      const file = path.join(dir, "mlp-no-root.onnx");
      writeFileSync(file, mlp);
      const notProfile = await rejection(s.profile(ref(pathToFileURL(file).href, sha256Hex(mlp), ZeroHash)));
      expect(notProfile).to.be.instanceOf(ProfileError);
      expect(notProfile.message).to.include('the input "features" is float32');
      await s.close();
    });

    it("refuses a root on a file outside the profile, with the checker's reason", async function () {
      const file = path.join(dir, "mlp-rooted.onnx");
      writeFileSync(file, mlp);
      const e = await rejection(store("root-not-profile").load(ref(pathToFileURL(file).href, sha256Hex(mlp), root)));
      expect(e).to.be.instanceOf(WeightsRootMismatchError);
      expect(e.message).to.include('is not an integer profile model (the input "features" is float32');
      expect((e as WeightsRootMismatchError).actual).to.equal(null);
    });
  });

  it("refetches when the cached file is corrupt", async function () {
    const s = store("corrupt");
    const id = buildIdentityModel("float32");
    const file = path.join(dir, "id.onnx");
    writeFileSync(file, id);
    const r = ref(pathToFileURL(file).href, sha256Hex(id));
    await s.bytes(r);
    writeFileSync(path.join(dir, "corrupt", `${sha256Hex(id).slice(2)}.onnx`), "garbage");
    expect((await s.bytes(r)).source).to.equal("fetch");
    expect(s.fetches).to.equal(2);
  });
});
