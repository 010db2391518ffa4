import { expect } from "chai";
import { Metrics } from "../../src/worker/loop/metrics";

describe("worker metrics", function () {
  it("reads the transactions in flight from their source whenever collected", async function () {
    const m = new Metrics({ role: "worker" });
    let inFlight = 3;
    m.countInFlight(() => inFlight);
    expect(await m.registry.metrics()).to.match(/^trustml_transactions_in_flight\{role="worker"\} 3$/m);
    inFlight = 0;
    expect(await m.registry.metrics()).to.match(/^trustml_transactions_in_flight\{role="worker"\} 0$/m);
  });
});
