/**
 * The explorer in headless Chromium, against the explorer's chain (test/fixtures/explorer-chain.ts: jobs in every mode
 * and every ending, a rejected cheat, a proven fraud), served by startExplorer as `npm run explorer` serves it. Each
 * test checks what a person would: the exact output hash and decoded values, the committee's votes, the slash, the
 * fraud proof, search, a job moving through its states while the page is open, an RPC outage and its recovery, and
 * the messages for bad input; and that no page logged a console error. Screenshots of each page are written to
 * test-output/explorer/.
 */
import { expect } from "chai";
import { getAddress } from "ethers";
import type { Browser, Page } from "puppeteer-core";
import { startExplorer, type RunningExplorer } from "../../src/explorer/serve";
import { formatJobId } from "../../packages/sdk/src/job";
import type { TensorJson } from "../../packages/sdk/src/tensor-json";
import { freePort } from "../../src/network/processes";
import {
  describeProblems,
  expectNoConsoleErrors,
  launchBrowser,
  openPage,
  screenshot,
  type PageProblems,
} from "../fixtures/browser";
import { underCoverage } from "../fixtures/coverage";
import { explorerChainFixture, type ExplorerChain, type ExplorerJob } from "../fixtures/explorer-chain";
import { startRpcProxy, type RpcProxy } from "../fixtures/outage";

/** What the browser logs for a request the node refused: expected while a test takes the node away, and only then. */
const REFUSED = [/ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|Failed to load resource|net::ERR_/];

const testId = (id: string) => `[data-testid="${id}"]`;

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => (e as HTMLElement).innerText.trim());
}

async function attribute(page: Page, selector: string, name: string): Promise<string | null> {
  return page.$eval(selector, (e, n) => e.getAttribute(n), name);
}

async function attributes(page: Page, selector: string, name: string): Promise<(string | null)[]> {
  return page.$$eval(selector, (es, n) => es.map((e) => e.getAttribute(n)), name);
}

/** The numbers a values cell shows, e.g. "[0.1, -2, 3]". */
function shownValues(cell: string): string[] {
  const inner = cell.trim().replace(/^\[/, "").replace(/\]$/, "");
  return inner === "" ? [] : inner.split(",").map((v) => v.trim());
}

/** Whether the text a page shows for an element is exactly the element: a float32 read back to the same float32. */
function sameElement(shown: string, expected: number | string | boolean, type: TensorJson["type"]): boolean {
  if (type === "float32") return Math.fround(Number(shown)) === Math.fround(Number(expected));
  if (type === "float64") return Number(shown) === Number(expected);
  return shown === String(expected);
}

describe("explorer in headless Chromium", function () {
  this.timeout(120_000);
  let chain: ExplorerChain;
  let explorer: RunningExplorer;
  let browser: Browser;
  const opened: { page: Page; problems: PageProblems; allow: RegExp[] }[] = [];

  before(async function () {
    // As the chain fixture's own test: the protocol's gas estimates do not fit instrumented bytecode.
    if (underCoverage()) this.skip();
    chain = await explorerChainFixture();
    explorer = await startExplorer({ rpcUrl: chain.rpcUrl, deployment: chain.deployment, port: 0 });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await explorer?.close();
    await chain?.close();
  });

  afterEach(async function () {
    // Every page a test opened: no console error, no uncaught exception, no failed request (but those it expected).
    const pages = opened.splice(0);
    for (const p of pages) {
      await p.page.close();
      expectNoConsoleErrors(p.problems, p.allow);
    }
  });

  /** Opens `path` of an explorer (default: the fixture's) and waits for `ready`. */
  async function visit(path: string, ready: string, opts: { base?: string; allow?: RegExp[] } = {}): Promise<Page> {
    const { page, problems } = await openPage(browser, (opts.base ?? explorer.url) + path.replace(/^\//, ""));
    opened.push({ page, problems, allow: opts.allow ?? [] });
    await page.setViewport({ width: 1280, height: 900 });
    try {
      await page.waitForSelector(ready, { timeout: 30_000 });
    } catch (e) {
      const body = await page.evaluate(() => document.body.innerText).catch(() => "");
      throw new Error(
        `${path}: ${ready} did not appear; the page shows:\n${body.slice(0, 2000)}\n${describeProblems(problems).join("\n")}`,
        { cause: e },
      );
    }
    return page;
  }

  const jobPage = (j: ExplorerJob) => visit(`/job/${formatJobId(j.id)}`, `${testId("job-status")}[data-status]`);

  /** Checks every output tensor of `j` shows every value, exactly. */
  async function expectOutputValues(page: Page, j: ExplorerJob): Promise<void> {
    for (const tensor of j.output!.tensors) {
      const cell = `${testId("output-values")}[data-tensor="${tensor.name}"]`;
      expect(await attribute(page, cell, "data-count"), tensor.name).to.equal(String(tensor.data.length));
      if ((await attribute(page, cell, "data-truncated")) === "true") continue; // a long hidden vector: counted
      const shown = shownValues(await text(page, cell));
      expect(shown.length, tensor.name).to.equal(tensor.data.length);
      shown.forEach(
        (v, i) =>
          expect(sameElement(v, tensor.data[i], tensor.type), `${tensor.name}[${i}] shows ${v}, is ${tensor.data[i]}`)
            .to.be.true,
      );
    }
  }

  describe("the network page", function () {
    it("shows the totals, four Chart.js charts with something drawn, the recent jobs and the models", async function () {
      const page = await visit("/", testId("total-jobs"));
      await page.waitForFunction(
        (s) => document.querySelector(s)?.textContent?.trim() === "11",
        {},
        testId("total-jobs"),
      );
      expect(await text(page, testId("total-models"))).to.equal("4");
      for (const chart of ["chart-jobs-by-mode", "chart-jobs-by-outcome", "chart-gas-by-mode", "chart-latency"]) {
        // Something is drawn on each chart's canvas (not a blank one).
        const drawn = await page.$eval(`${testId(chart)} canvas`, (c) => {
          const canvas = c as HTMLCanvasElement;
          const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
          return { width: canvas.width, painted };
        });
        expect(drawn.width, chart).to.be.greaterThan(100);
        expect(drawn.painted, chart).to.be.greaterThan(500);
      }
      const nonces = await attributes(page, `${testId("recent-jobs")} ${testId("job-row")}`, "data-nonce");
      expect(nonces).to.include(String(chain.jobs.committeeCheat.nonce));
      expect(await attributes(page, testId("model-row"), "data-model")).to.have.members(["1", "2", "3", "4"]);
      await screenshot(page, "network");
    });
  });

  describe("a job page", function () {
    it("shows the rejected cheat: the exact output hash, each seat's disagreeing vote and the worker's slash", async function () {
      const j = chain.jobs.committeeCheat;
      const page = await jobPage(j);
      expect(await attribute(page, testId("job-status"), "data-status")).to.equal("Rejected");
      expect(await text(page, testId("job-outcome"))).to.contain("Rejected");
      expect(await attribute(page, testId("output-hash"), "data-value")).to.equal(j.output!.hash);
      expect(await text(page, testId("output-hash"))).to.equal(j.output!.hash);
      expect(await attribute(page, testId("input-hash"), "data-value")).to.equal(j.input.hash);
      await expectOutputValues(page, j);
      expect(await attributes(page, testId("seat"), "data-verifier")).to.deep.equal(j.committee.map((s) => s.verifier));
      expect(await attributes(page, testId("seat-vote"), "data-vote")).to.deep.equal(
        j.committee.map((s) => (s.agree ? "agree" : "disagree")),
      );
      expect(j.slashes).to.have.length(1);
      expect(await attributes(page, `${testId("slashes")} ${testId("slash-row")}`, "data-account")).to.deep.equal([
        j.slashes[0].account,
      ]);
      expect(await attribute(page, testId("slash-amount"), "data-value")).to.equal(j.slashes[0].amount.toString());
      expect(await attribute(page, testId("payout-slashed"), "data-value")).to.equal(j.settlement!.slashed.toString());
      expect(await text(page, testId("verify-command"))).to.equal(`npm run verify-job -- ${formatJobId(j.id)}`);
      expect((await page.$$(testId("tx-row"))).length).to.be.greaterThan(4);
      await screenshot(page, "job-rejected-cheat", { fullPage: true });
    });

    it("shows an accepted committee job's decoded output, every value exact, and its three agreeing votes", async function () {
      const j = chain.jobs.committee;
      const page = await jobPage(j);
      expect(await attribute(page, testId("job-status"), "data-status")).to.equal("Settled");
      expect(await attribute(page, testId("output-hash"), "data-value")).to.equal(j.output!.hash);
      await expectOutputValues(page, j);
      expect(await attributes(page, testId("output-tensor"), "data-tensor")).to.deep.equal(
        j.output!.tensors.map((t) => t.name),
      );
      expect(await attributes(page, testId("seat-vote"), "data-vote")).to.deep.equal(["agree", "agree", "agree"]);
      expect(await page.$(testId("no-slashes"))).to.not.equal(null);
      expect(await attribute(page, testId("content-hash"), "data-value")).to.equal(chain.models[j.model].contentHash);
      await screenshot(page, "job-committee");
    });

    it("shows a proven fraud: the trace commitment, the prover, the wrong neuron and the slash", async function () {
      const j = chain.jobs.provenFraud;
      const page = await jobPage(j);
      expect(await attribute(page, testId("job-status"), "data-status")).to.equal("Rejected");
      expect(await attribute(page, testId("trace-output-hash"), "data-value")).to.equal(j.output!.hash);
      expect(await attribute(page, testId("trace-weights-root"), "data-value")).to.equal(
        chain.models[j.model].weightsRoot,
      );
      const proof = j.fraudProof!;
      expect(await page.$eval(`${testId("fraud-prover")}`, (e) => e.outerHTML)).to.contain(proof.prover);
      expect(await text(page, testId("fraud-kind"))).to.contain("neuron");
      expect(await text(page, testId("fraud-layer"))).to.equal(String(proof.layer));
      expect(await text(page, testId("fraud-neuron"))).to.equal(String(proof.index));
      expect(await attributes(page, `${testId("slashes")} ${testId("slash-row")}`, "data-account")).to.deep.equal(
        j.slashes.map((s) => s.account),
      );
      await expectOutputValues(page, j);
      await screenshot(page, "job-proven-fraud");
    });

    it("shows an optimistic job's challenger and the committee that upheld the result", async function () {
      const j = chain.jobs.challengeLost;
      const page = await jobPage(j);
      expect(await page.$eval(testId("challenger"), (e) => e.outerHTML)).to.contain(j.challenger!);
      expect(await attributes(page, testId("seat-vote"), "data-vote")).to.deep.equal(
        j.committee.map((s) => (s.agree ? "agree" : "disagree")),
      );
      // The dissenting verifier paid the vote penalty.
      expect((await page.$$(testId("seat-penalty"))).length).to.equal(j.committee.filter((s) => !s.agree).length);
      await screenshot(page, "job-challenged");
    });

    it("follows the open job through Requested, Claimed, Submitted and Settled without a reload", async function () {
      const j = chain.open.job;
      const page = await jobPage(j);
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
      const status = (s: string) =>
        page.waitForSelector(`${testId("job-status")}[data-status="${s}"]`, { timeout: 20_000 });
      await status("Requested");
      expect(await page.$(testId("no-output"))).to.not.equal(null);
      await chain.open.claim();
      await status("Claimed");
      await chain.open.submit();
      await status("Submitted");
      await page.waitForSelector(testId("output-hash"));
      expect(await attribute(page, testId("output-hash"), "data-value")).to.equal(chain.open.output.hash);
      await chain.open.settle();
      await status("Settled");
      expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).to.equal(42);
    });
  });

  describe("the model and operator pages", function () {
    it("shows a model's terms, its version's content hash and signature, and its jobs by outcome", async function () {
      const m = chain.models.iris;
      const page = await visit(`/model/${m.id}`, testId("version-row"));
      expect(await attribute(page, testId("version-content-hash"), "data-value")).to.equal(m.contentHash);
      expect(await text(page, testId("terms-mode"))).to.equal("Committee");
      const outcomes = await page.$$eval(`${testId("model-outcomes")} [data-outcome]`, (es) =>
        Object.fromEntries(es.map((e) => [e.getAttribute("data-outcome"), e.getAttribute("data-count")])),
      );
      const expected: Record<string, string> = {};
      for (const j of Object.values(chain.jobs).filter((x) => x.model === "iris")) {
        const key = j.outcome ?? "open";
        expected[key] = String(Number(expected[key] ?? 0) + 1);
      }
      expect(outcomes).to.deep.equal(expected);
      const royalties = Object.values(chain.jobs)
        .filter((x) => x.model === "iris" && x.settlement)
        .reduce((sum, x) => sum + x.settlement!.royalty, 0n);
      expect(royalties > 0n).to.equal(true);
      expect(await attribute(page, testId("model-royalties"), "data-value")).to.equal(royalties.toString());
      await screenshot(page, "model");
    });

    it("lists the operators, and shows the cheater's stake, work and slashes", async function () {
      const list = await visit("/operators", testId("operator-row"));
      expect(await attributes(list, testId("operator-row"), "data-address")).to.include.members([
        ...chain.operators.workers,
        ...chain.operators.verifiers,
      ]);
      await screenshot(list, "operators");

      const cheater = chain.accounts.cheater.address;
      const page = await visit(`/address/${cheater}`, testId("stake-active"));
      const slashes = Object.values(chain.jobs).flatMap((j) => j.slashes.filter((s) => s.account === cheater));
      expect(slashes.length).to.be.greaterThan(1);
      expect(
        await attributes(page, `${testId("operator-slashes")} ${testId("slash-amount")}`, "data-value"),
      ).to.have.members(slashes.map((s) => s.amount.toString()));
      // Every job it claimed, the one it abandoned included.
      const claimed = Object.values(chain.jobs).filter((j) => j.worker === cheater);
      expect(claimed.map((j) => j.key)).to.include("abandoned");
      expect(await attributes(page, `${testId("worked-jobs")} ${testId("job-row")}`, "data-nonce")).to.have.members(
        claimed.map((j) => String(j.nonce)),
      );
      const staked = await chain.staking.accountOf(cheater);
      expect(await attribute(page, testId("stake-active"), "data-value")).to.equal(staked.active.toString());
      await screenshot(page, "address");
    });
  });

  describe("search", function () {
    async function search(page: Page, query: string): Promise<void> {
      await page.click(testId("search-input"), { clickCount: 3 });
      await page.type(testId("search-input"), query);
      await page.click(testId("search-submit"));
    }

    it("finds a job by #request-number and by id, a model by id and an operator by address", async function () {
      const page = await visit("/", testId("search-input"));
      const cheat = chain.jobs.committeeCheat;
      await search(page, `#${cheat.nonce}`);
      await page.waitForSelector(`${testId("job-page")}[data-job="${formatJobId(cheat.id)}"]`);
      await search(page, formatJobId(chain.jobs.proven.id));
      await page.waitForSelector(`${testId("job-page")}[data-job="${formatJobId(chain.jobs.proven.id)}"]`);
      await search(page, String(chain.models.digits.id));
      await page.waitForSelector(`${testId("model-page")}[data-model="${chain.models.digits.id}"]`);
      await search(page, chain.accounts.worker.address.toLowerCase());
      await page.waitForSelector(`${testId("operator-page")}[data-address="${chain.accounts.worker.address}"]`);
    });

    it("says what is wrong with a query that names nothing", async function () {
      const page = await visit("/", testId("search-input"));
      await search(page, "0x1234");
      await page.waitForSelector(testId("search-message"));
      expect(await text(page, testId("search-message"))).to.contain("0x1234 has 4 hex digits");
      await search(page, "#999");
      await page.waitForFunction(
        (s) => document.querySelector(s)?.textContent?.includes("no job #999"),
        {},
        testId("search-message"),
      );
    });
  });

  describe("bad input", function () {
    it("shows 'no such job' for an id never requested, naming it", async function () {
      const unknown = formatJobId(123456789n);
      const page = await visit(`/job/${unknown}`, testId("error-reason"));
      expect(
        await page.$eval(testId("error-reason"), (e) => e.closest("[data-kind]")?.getAttribute("data-kind")),
      ).to.equal("no-such-job");
      expect(await page.evaluate(() => document.body.innerText)).to.contain(unknown);
      await screenshot(page, "no-such-job");
    });

    it("names the problem of a malformed job id, model id or address", async function () {
      const cases: [string, string, RegExp][] = [
        ["/job/0x12zz", "bad-job-id", /not a job id|hex digits/],
        ["/model/-3", "bad-model-id", /model/],
        ["/model/99", "no-such-model", /no model 99/],
        ["/address/0x1234", "bad-address", /0x1234/],
      ];
      for (const [path, kind, message] of cases) {
        const page = await visit(path, testId("error-reason"));
        const shown = await page.$eval(testId("error-reason"), (e) => ({
          kind: e.closest("[data-kind]")?.getAttribute("data-kind"),
          text: (e as HTMLElement).innerText,
        }));
        expect(shown.kind, path).to.equal(kind);
        expect(shown.text, path).to.match(message);
      }
    });

    it("shows an address that never did anything, with its balances", async function () {
      const page = await visit(
        `/address/${getAddress("0x00000000000000000000000000000000000a11ce")}`,
        testId("operator-empty"),
      );
      expect(await page.$(testId("token-balance"))).to.not.equal(null);
    });

    it("refuses a deployment record of another chain, naming both chain ids", async function () {
      const other = await startExplorer({
        rpcUrl: chain.rpcUrl,
        deployment: { ...chain.deployment, chainId: 11155111, network: "sepolia" },
        port: 0,
      });
      try {
        const page = await visit("/", `${testId("connect-error")}[data-kind="wrong-chain"]`, { base: other.url });
        const message = await text(page, testId("connect-error"));
        expect(message).to.contain("11155111").and.contain("31337");
        await screenshot(page, "wrong-chain");
      } finally {
        await other.close();
      }
    });

    it("says so when the RPC URL does not answer, naming it", async function () {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const other = await startExplorer({ rpcUrl: dead, deployment: chain.deployment, port: 0 });
      try {
        const page = await visit("/", `${testId("connect-error")}[data-kind="rpc"]`, {
          base: other.url,
          allow: REFUSED,
        });
        expect(await text(page, testId("connect-error"))).to.contain(dead);
        await screenshot(page, "rpc-down");
      } finally {
        await other.close();
      }
    });
  });

  describe("an RPC outage", function () {
    let proxy: RpcProxy;
    let behind: RunningExplorer;
    before(async function () {
      proxy = await startRpcProxy(chain.rpcUrl);
      behind = await startExplorer({ rpcUrl: proxy.url, deployment: chain.deployment, port: 0 });
    });
    after(async function () {
      await behind?.close();
      await proxy?.close();
    });

    it("shows how far a long first read got (a slow node, log reads of 10 blocks)", async function () {
      const slow = await startExplorer({ rpcUrl: proxy.url, deployment: chain.deployment, port: 0, maxBlockRange: 10 });
      proxy.latencyMs = 100;
      try {
        const page = await visit("/", testId("sync-progress"), { base: slow.url });
        const shown = await page.$eval(testId("sync-progress"), (e) => ({
          readTo: Number(e.getAttribute("data-read-to")),
          toBlock: Number(e.getAttribute("data-to-block")),
          text: (e as HTMLElement).innerText,
        }));
        expect(shown.toBlock).to.be.at.least(chain.headBlock);
        expect(shown.readTo).to.be.lessThan(shown.toBlock);
        expect(shown.text).to.match(/events up to block [\d,]+ of [\d,]+ \(\d+ %\)/);
        await screenshot(page, "first-read-progress");
        await page.waitForSelector(testId("total-jobs"), { timeout: 60_000 });
        expect(await page.$(testId("sync-progress"))).to.equal(null);
      } finally {
        proxy.latencyMs = 0;
        await slow.close();
      }
    });

    it("shows a banner while the node does not answer, keeps the page, and recovers by itself", async function () {
      const j = chain.jobs.committeeCheat;
      const page = await visit(`/job/${formatJobId(j.id)}`, `${testId("job-status")}[data-status]`, {
        base: behind.url,
        allow: REFUSED,
      });
      expect(await page.$(testId("rpc-banner"))).to.equal(null);
      await proxy.setMode("refuse");
      await page.waitForSelector(testId("rpc-banner"), { timeout: 20_000 });
      expect(await text(page, testId("rpc-banner"))).to.contain(proxy.url);
      // The last data stays on screen.
      expect(await attribute(page, testId("output-hash"), "data-value")).to.equal(j.output!.hash);
      await screenshot(page, "rpc-outage");
      await proxy.setMode("up");
      await page.waitForSelector(testId("rpc-banner"), { hidden: true, timeout: 20_000 });
      expect(await attribute(page, testId("job-status"), "data-status")).to.equal("Rejected");
    });
  });
});
