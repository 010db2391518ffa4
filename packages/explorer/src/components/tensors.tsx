/** Tensors as posted on chain: each tensor's name, type, shape and values, and the keccak256 of their encoding. */
import { useState } from "react";
import { elementText, SHOW_ALL_UP_TO, TRUNCATE_AT } from "../format";
import type { TensorJson, TensorsView } from "../sdk";
import { Hash } from "./common";

/** `kind` prefixes the test ids: input-hash, input-values, output-hash, output-values. */
export function Tensors({ view, kind }: { view: TensorsView; kind: "input" | "output" }) {
  return (
    <div className="tensors" data-testid={`${kind}-tensors`}>
      <p>
        keccak256 <Hash value={view.hash} testId={`${kind}-hash`} full />
        {view.uri ? null : <span className="muted"> · {view.bytes.toLocaleString("en-US")} bytes</span>}
      </p>
      {view.uri && (
        <p data-testid={`${kind}-uri`}>
          Given by URI (its bytes are off chain): <span className="mono">{view.uri}</span>
        </p>
      )}
      {view.problem && (
        <div className="problem-inline" data-testid={`${kind}-undecodable`}>
          <p>These bytes are not a tensor list: {view.problem}</p>
          <pre className="mono wrap">{view.hex}</pre>
        </div>
      )}
      {view.tensors && (
        <table className="list">
          <thead>
            <tr>
              <th>name</th>
              <th>type</th>
              <th>shape</th>
              <th>values</th>
            </tr>
          </thead>
          <tbody>
            {view.tensors.map((t, i) => (
              <tr key={i} data-testid={`${kind}-tensor`} data-tensor={t.name}>
                <td className="mono">{t.name}</td>
                <td className="mono nowrap">{t.type}</td>
                <td className="mono nowrap">[{t.shape.join(", ")}]</td>
                <td>
                  <Values tensor={t} testId={`${kind}-values`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Every value of a small tensor; the first TRUNCATE_AT of a long one, with how many more and a button to show them. */
function Values({ tensor, testId }: { tensor: TensorJson; testId: string }) {
  const [all, setAll] = useState(false);
  const n = tensor.data.length;
  const truncated = n > SHOW_ALL_UP_TO && !all;
  const shown = truncated ? tensor.data.slice(0, TRUNCATE_AT) : tensor.data;
  const text = shown.map((v) => elementText(v, tensor.type)).join(", ");
  return (
    <span>
      <code className="values" data-testid={testId} data-tensor={tensor.name} data-count={n} data-truncated={truncated}>
        [{text}
        {truncated ? ", …" : ""}]
      </code>
      {truncated && (
        <>
          {" "}
          <span className="muted" data-testid={`${testId}-more`}>
            {n - TRUNCATE_AT} more ({n} values)
          </span>{" "}
          <button type="button" className="link" onClick={() => setAll(true)}>
            show all
          </button>
        </>
      )}
    </span>
  );
}
