/**
 * What a person writes to name a job (by id or request number), a model or an address, parsed before anything is
 * read: by the explorer's URLs and its search (ProtocolHistory.search). A malformed value gets a message that names
 * the problem; whether the thing exists is for the reader to find out.
 */
import { getAddress, isAddress } from "ethers";

export type JobRef = { kind: "id"; id: bigint } | { kind: "nonce"; nonce: bigint } | { kind: "bad"; message: string };

/** A job as a URL gives it: 0x and 64 hex digits, a decimal id, or #request-number (also /job/nonce/<n>). */
export function parseJobRef(raw: string): JobRef {
  const q = raw.trim();
  let m = /^#\s*(\d{1,20})$/.exec(q);
  if (m) return { kind: "nonce", nonce: BigInt(m[1]) };
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return { kind: "id", id: BigInt(q) };
  m = /^0x([0-9a-fA-F]*)$/.exec(q);
  if (m) {
    return {
      kind: "bad",
      message: `${q} has ${m[1].length} hex digits: a job id has 64 (0x and 64 hex digits); a request number is written #12`,
    };
  }
  if (/^\d{1,78}$/.test(q)) {
    const id = BigInt(q);
    if (id < 2n ** 256n) return { kind: "id", id };
    return { kind: "bad", message: `${q} is larger than any job id (ids are 256-bit numbers)` };
  }
  return {
    kind: "bad",
    message: `"${q}" is not a job id: write it as 0x and 64 hex digits, as a decimal number, or as #request-number`,
  };
}

/** The request number of /job/nonce/<n>. */
export function parseNonce(raw: string): JobRef {
  const q = raw.trim().replace(/^#/, "");
  if (/^\d{1,20}$/.test(q)) return { kind: "nonce", nonce: BigInt(q) };
  return { kind: "bad", message: `"${raw}" is not a request number: it is a whole number, as in /job/nonce/12` };
}

export type ModelRef = { kind: "id"; id: bigint } | { kind: "bad"; message: string };

export function parseModelRef(raw: string): ModelRef {
  const q = raw.trim();
  if (/^\d{1,20}$/.test(q)) return { kind: "id", id: BigInt(q) };
  return { kind: "bad", message: `"${q}" is not a model id: model ids are whole numbers from 1, as in /model/3` };
}

export type AddressRef = { kind: "address"; address: string } | { kind: "bad"; message: string };

export function parseAddressRef(raw: string): AddressRef {
  const q = raw.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(q)) {
    const hex = /^0x([0-9a-fA-F]*)$/.exec(q);
    return {
      kind: "bad",
      message: hex
        ? `${q} has ${hex[1].length} hex digits: an address has 40 (0x and 40 hex digits)`
        : `"${q}" is not an address: an address is 0x and 40 hex digits`,
    };
  }
  if (!isAddress(q)) {
    return { kind: "bad", message: `${q} is not a valid address: its checksum (mixed case) is wrong` };
  }
  return { kind: "address", address: getAddress(q) };
}
