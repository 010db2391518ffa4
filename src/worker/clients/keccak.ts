/**
 * Keccak-256 for the worker process: ethers hashes in JavaScript (@noble/hashes), which costs a worker about 8 ms
 * per 45 kB batch of results each time a transaction is signed or its hash is taken, and a little on every address
 * it checksums. The `keccak` package's native binding (prebuilt, N-API) does the same hash 20 times faster; when it
 * loads, ethers is told to use it (`keccak256.register`), else ethers keeps its own. The two give the same digests
 * (the worker's tests check it).
 */
import { keccak256 } from "ethers";

let registered: "native" | "javascript" | undefined;

/** Makes ethers hash with the native binding when it loads; returns which implementation is in use. */
export function useNativeKeccak(): "native" | "javascript" {
  if (registered) return registered;
  try {
    // The package's own entry falls back to JavaScript silently; its bindings throw when the add-on does not load.
    const create = require("keccak/bindings") as (algorithm: "keccak256") => {
      update(data: Buffer): { digest(): Buffer };
    };
    keccak256.register((data: Uint8Array) => {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength); // a view, not a copy
      return new Uint8Array(create("keccak256").update(bytes).digest());
    });
    registered = "native";
  } catch {
    registered = "javascript";
  }
  return registered;
}
