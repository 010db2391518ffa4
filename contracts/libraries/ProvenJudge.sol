// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";
import {SettlementMath} from "./SettlementMath.sol";

/// @title ProvenJudge
/// @notice The judge of the Proven mode (docs/FRAUD-PROOFS.md, "The judge"): convicts a posted result of an integer
/// model from one neuron. A Proven job's posted output is a TML1 list of L int8 vectors: the model's output xL first
/// (under its own name), then the hidden vectors x1 … x(L-1), each named after the output with "/" and its layer in
/// five digits; the escrow keeps its hash as every job's output hash, and the job its input x0's hash. The model's
/// version keeps a Merkle root over its neurons (`weightsRoot`). A proof names one neuron by its leaf and brings the
/// posted output (and, for a neuron of layer 1, the job's input); the judge recomputes the neuron from the vector
/// before it and convicts only when the posted result cannot be the model's.
/// @dev An external library, so that the escrow carries none of its code. Every refusal is a named revert, so a
/// false accusation costs only its sender's gas; every malformed posting convicts, never panics.
library ProvenJudge {
    /// @notice Bytes of a neuron leaf before its weight column: ℓ u16, j u32, L u16, nIn u32, nOut u32, M u32,
    /// s u8, relu u8, bias int32, all big-endian.
    uint256 internal constant LEAF_HEADER = 26;
    /// @notice Largest shift a profile layer may have.
    uint256 internal constant MAX_SHIFT = 62;
    /// @dev TML1's magic, its int8 type code, and the bytes of a tensor after its name: type, rank, two u64 dims.
    bytes4 private constant MAGIC = "TML1";
    bytes10 private constant INT8_ROW = 0x03020100000000000000;
    uint256 private constant TENSOR_TAIL = 18;

    /// @notice How a posted result was convicted.
    enum Fraud {
        OutputEncoding, // the output is not L int8 [1, n] vectors named as the profile says, with nothing after
        InputEncoding, // the job's input, which the worker served, is not one int8 [1, n] vector
        VectorLength, // x(ℓ-1) or xℓ does not have the layer's width
        Neuron // neuron j of layer ℓ is not what x(ℓ-1) and its leaf give
    }

    /// @notice The evidence is not `abi.encode(bytes, bytes, bytes, bytes32[])`: an offset or a length of part
    /// `part` (0 input, 1 output, 2 leaf, 3 proof) points past its end.
    error ProvenEvidenceMalformed(uint256 part);
    /// @notice The output given does not hash to the job's output hash.
    error ProvenOutputMismatch(bytes32 outputHash, bytes32 given);
    /// @notice The input given (needed for a neuron of layer 1) does not hash to the job's input hash.
    error ProvenInputMismatch(bytes32 inputHash, bytes32 given);
    /// @notice The leaf (hashing to `leafHash`) is not in the version's weightsRoot with the proof given.
    error ProvenLeafNotInModel(bytes32 leafHash);
    /// @notice The leaf is in the root but is not a neuron leaf of the profile (a root no file gives).
    error ProvenLeafMalformed(uint256 length);
    /// @notice Neuron `index` of layer `layer` is `value`, as posted: nothing to convict.
    error ProvenNeuronCorrect(uint256 layer, uint256 index, int256 value);

    /// @notice One neuron's leaf, decoded.
    struct Neuron {
        uint256 layer; // ℓ, from 1
        uint256 index; // j, from 0
        uint256 layers; // L
        uint256 nIn;
        uint256 nOut;
        int256 multiplier; // M
        uint256 shift; // s
        bool relu;
        int256 bias;
    }

    /// @notice Where a vector lies in its encoding: `at` is its first byte, `width` its length.
    struct Span {
        uint256 at;
        uint256 width;
    }

    /// @notice The escrow's `proveFraud` up to the credits (IJobEscrow.proveFraud), for the Proven job `jobId` whose
    /// state is `state` under parameters `p`: checks that it can be proven wrong now (Submitted, inside its challenge
    /// window), judges `evidence` (`abi.encode(input, output, leaf, proof)`, the arguments of `judge` after the three
    /// hashes) against the job's `inputHash`, posted `outputHash` and version's `weightsRoot`, emits FraudProven,
    /// ends the job Rejected, slashes the worker's whole `collateral` through `staking` and returns the split of the
    /// `fee` and the slash (SettlementMath.rejected, the caller as the one winning challenger, with no bond), which
    /// the escrow credits. The escrow delegates this call: events and storage are its own. Reverts with the
    /// escrow's or the judge's named error otherwise.
    function convict(
        IJobEscrow.JobState storage state,
        IJobEscrow.EscrowParams storage p,
        IVerifierStaking staking,
        uint256 jobId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 weightsRoot,
        uint256 fee,
        uint256 collateral,
        bytes calldata evidence
    ) external returns (IJobEscrow.Settlement memory) {
        IJobEscrow.JobStatus status = state.status;
        if (status != IJobEscrow.JobStatus.Submitted) revert IJobEscrow.JobEscrowInvalidStatus(jobId, status);
        uint256 windowEnd = state.windowEnd;
        if (block.timestamp > windowEnd) revert IJobEscrow.JobEscrowChallengeWindowClosed(jobId, windowEnd);
        (bytes calldata input, bytes calldata output, bytes calldata leaf, bytes32[] calldata proof) = readEvidence(
            evidence
        );
        (uint8 fraud, uint256 layer, uint256 index) = judge(
            inputHash,
            outputHash,
            weightsRoot,
            input,
            output,
            leaf,
            proof
        );
        emit IJobEscrow.FraudProven(jobId, msg.sender, fraud, layer, index);
        state.status = IJobEscrow.JobStatus.Rejected;
        uint256 slashed = staking.slash(state.worker, collateral, collateral, address(this));
        return SettlementMath.rejected(fee, slashed, p.compensationBps, p.verifierRewardBps, 0, true, 0);
    }

    /// @notice The four parts of a proof's evidence, `abi.encode(input, output, leaf, proof)` (bytes, bytes, bytes,
    /// bytes32[]), read in place. Reverts with ProvenEvidenceMalformed when an offset or a length points past the end.
    function readEvidence(
        bytes calldata evidence
    )
        internal
        pure
        returns (bytes calldata input, bytes calldata output, bytes calldata leaf, bytes32[] calldata proof)
    {
        (uint256 inputAt, uint256 inputLength) = _part(evidence, 0, 1);
        (uint256 outputAt, uint256 outputLength) = _part(evidence, 1, 1);
        (uint256 leafAt, uint256 leafLength) = _part(evidence, 2, 1);
        (uint256 proofAt, uint256 proofLength) = _part(evidence, 3, 32);
        assembly ("memory-safe") {
            input.offset := inputAt
            input.length := inputLength
            output.offset := outputAt
            output.length := outputLength
            leaf.offset := leafAt
            leaf.length := leafLength
            proof.offset := proofAt
            proof.length := proofLength
        }
    }

    /// @notice Convicts the result whose posted output hashes to `outputHash`, of the job whose input hashes to
    /// `inputHash`, through the neuron whose leaf is `leaf`, in `weightsRoot` by `proof`. `output` is the posted
    /// output; `input` the job's input, read only for a neuron of layer 1 (may be empty otherwise). Reverts with a
    /// named error unless the result is proven wrong.
    /// @return fraud How it was convicted (a `Fraud`, as uint8: a library's external ABI cannot carry its enum);
    /// `layer` and `index` the neuron named.
    function judge(
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 weightsRoot,
        bytes calldata input,
        bytes calldata output,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) public pure returns (uint8 fraud, uint256 layer, uint256 index) {
        bytes32 given = keccak256(output);
        if (given != outputHash) revert ProvenOutputMismatch(outputHash, given);
        bytes32 leafHash = keccak256(bytes.concat(keccak256(leaf)));
        if (!MerkleProof.verifyCalldata(proof, weightsRoot, leafHash)) revert ProvenLeafNotInModel(leafHash);
        Neuron memory n = decode(leaf);
        (layer, index) = (n.layer, n.index);
        // Positions in the output: xL first, then x1 … x(L-1).
        (bool ok, Span memory prev, Span memory cur) = readOutput(output, n.layers, layer - 1, layer % n.layers);
        if (!ok) return (uint8(Fraud.OutputEncoding), layer, index);
        bytes calldata xPrev = output;
        if (layer == 1) {
            given = keccak256(input);
            if (given != inputHash) revert ProvenInputMismatch(inputHash, given);
            (ok, prev) = readInput(input);
            if (!ok) return (uint8(Fraud.InputEncoding), layer, index);
            xPrev = input;
        }
        if (prev.width != n.nIn || cur.width != n.nOut) return (uint8(Fraud.VectorLength), layer, index);
        int256 value = evaluate(n, xPrev[prev.at:prev.at + prev.width], leaf[LEAF_HEADER:]);
        int256 posted = int8(uint8(output[cur.at + index]));
        if (value == posted) revert ProvenNeuronCorrect(layer, index, value);
        return (uint8(Fraud.Neuron), layer, index);
    }

    /// @notice Decodes a neuron leaf, refusing one no profile file gives (ProvenLeafMalformed): a length other than
    /// the header and nIn weights, a layer outside 1..L, an index outside the layer, M or s out of bounds.
    function decode(bytes calldata leaf) internal pure returns (Neuron memory n) {
        if (leaf.length < LEAF_HEADER) revert ProvenLeafMalformed(leaf.length);
        n.layer = uint16(bytes2(leaf[0:2]));
        n.index = uint32(bytes4(leaf[2:6]));
        n.layers = uint16(bytes2(leaf[6:8]));
        n.nIn = uint32(bytes4(leaf[8:12]));
        n.nOut = uint32(bytes4(leaf[12:16]));
        uint256 multiplier = uint32(bytes4(leaf[16:20]));
        n.multiplier = int256(multiplier);
        n.shift = uint8(leaf[20]);
        uint8 relu = uint8(leaf[21]);
        n.relu = relu == 1;
        n.bias = int32(uint32(bytes4(leaf[22:26])));
        if (
            leaf.length != LEAF_HEADER + n.nIn ||
            n.layer == 0 ||
            n.layer > n.layers ||
            n.index >= n.nOut ||
            multiplier == 0 ||
            multiplier > uint256(uint32(type(int32).max)) ||
            n.shift == 0 ||
            n.shift > MAX_SHIFT ||
            relu > 1
        ) revert ProvenLeafMalformed(leaf.length);
    }

    /// @notice Reads a posted output of a model of `count` layers: the magic, a count of `count` tensors, each int8
    /// of shape [1, n] with its data, the first under any non-empty name N and the one at position p ≥ 1 named N
    /// followed by "/" and p in five digits, and nothing after the last. Returns false at the first departure, else
    /// the spans of the vectors at positions `first` and `second` (a span of width 0 at 0 for position 0 asked
    /// as `first`, which is then x0, read from the input).
    function readOutput(
        bytes calldata output,
        uint256 count,
        uint256 first,
        uint256 second
    ) internal pure returns (bool ok, Span memory a, Span memory b) {
        if (output.length < 8 || bytes4(output[0:4]) != MAGIC || _le(output, 4, 4) != count) return (false, a, b);
        uint256 at = 8;
        uint256 nameLength;
        bytes32 nameHash;
        for (uint256 p; p < count; ++p) {
            uint256 nameAt;
            uint256 width;
            (ok, nameAt, at, width) = _tensor(output, at);
            if (!ok) return (false, a, b);
            uint256 length = at - TENSOR_TAIL - nameAt;
            if (p == 0) {
                (nameLength, nameHash) = (length, _hash(output, nameAt, length));
            } else if (
                length != nameLength + 6 ||
                _hash(output, nameAt, nameLength) != nameHash ||
                bytes6(output[nameAt + nameLength:nameAt + length]) != _suffix(p)
            ) {
                return (false, a, b);
            }
            if (p == first && first != 0) a = Span(at, width);
            if (p == second) b = Span(at, width);
            at += width;
        }
        ok = at == output.length;
    }

    /// @notice Reads a job's input as the profile takes it: the magic, a count of one, one int8 [1, n] tensor under
    /// any non-empty name, nothing after it. Returns false when it is not that, else the span of its vector.
    function readInput(bytes calldata input) internal pure returns (bool ok, Span memory data) {
        if (input.length < 8 || bytes4(input[0:4]) != MAGIC || _le(input, 4, 4) != 1) return (false, data);
        uint256 at;
        uint256 width;
        (ok, , at, width) = _tensor(input, 8);
        data = Span(at, width);
        ok = ok && at + width == input.length;
    }

    /// @notice Neuron `n` on the vector `xPrev` (nIn int8 values) with its weight column `weights` (nIn int8):
    /// acc = Σ x[i]·w[i] + bias; v = (acc·M + 2^(s-1)) / 2^s, truncating toward zero; clamped to [-128, 127], or
    /// [0, 127] with ReLU.
    /// @dev No step can overflow int256: |acc| is at most nIn (< 2^32) products of at most 2^14 plus a bias below
    /// 2^31, so below 2^47, and M is below 2^31.
    function evaluate(Neuron memory n, bytes calldata xPrev, bytes calldata weights) internal pure returns (int256 v) {
        int256 acc = n.bias;
        uint256 count = n.nIn;
        assembly ("memory-safe") {
            let xs := xPrev.offset
            let ws := weights.offset
            // Whole words first: 32 products per two calldata reads.
            let whole := and(count, not(31))
            for {
                let i := 0
            } lt(i, whole) {
                i := add(i, 32)
            } {
                let xw := calldataload(add(xs, i))
                let ww := calldataload(add(ws, i))
                for {
                    let k := 0
                } lt(k, 32) {
                    k := add(k, 1)
                } {
                    acc := add(acc, mul(signextend(0, byte(k, xw)), signextend(0, byte(k, ww))))
                }
            }
            for {
                let i := whole
            } lt(i, count) {
                i := add(i, 1)
            } {
                let xb := signextend(0, byte(0, calldataload(add(xs, i))))
                let wb := signextend(0, byte(0, calldataload(add(ws, i))))
                acc := add(acc, mul(xb, wb))
            }
        }
        v = (acc * n.multiplier + int256(1 << (n.shift - 1))) / int256(1 << n.shift);
        int256 low = n.relu ? int256(0) : int256(-128);
        if (v < low) v = low;
        else if (v > 127) v = 127;
    }

    /// @dev One TML1 tensor of `b` from byte `at`, which must be int8 of shape [1, n] with its n bytes: where its
    /// name and its data start, and n; false when it is not such a tensor or runs past the end.
    function _tensor(
        bytes calldata b,
        uint256 at
    ) private pure returns (bool ok, uint256 nameAt, uint256 dataAt, uint256 width) {
        uint256 length = b.length;
        if (at + 2 > length) return (false, 0, 0, 0);
        nameAt = at + 2;
        uint256 shape = nameAt + _le(b, at, 2);
        if (shape == nameAt || shape + TENSOR_TAIL > length) return (false, 0, 0, 0);
        // Type int8, rank 2, first dimension 1 (u64 little-endian): ten fixed bytes.
        if (bytes10(b[shape:shape + 10]) != INT8_ROW) return (false, 0, 0, 0);
        dataAt = shape + TENSOR_TAIL;
        width = _le(b, shape + 10, 8);
        // width is below 2^64 and dataAt at most the length, so nothing here can overflow.
        ok = width <= length - dataAt;
    }

    /// @dev Part `k` of an ABI-encoded tuple of dynamic arrays of `size`-byte elements: the calldata offset of its
    /// first element and its length, checked to lie inside `data`.
    function _part(bytes calldata data, uint256 k, uint256 size) private pure returns (uint256 offset, uint256 length) {
        uint256 end = data.length;
        if (end < 128) revert ProvenEvidenceMalformed(k);
        uint256 head = uint256(bytes32(data[32 * k:32 * k + 32]));
        // An offset beyond the data cannot overflow the sums below: the data is at most the calldata's size.
        if (head > end || end - head < 32) revert ProvenEvidenceMalformed(k);
        length = uint256(bytes32(data[head:head + 32]));
        if (length > (end - head - 32) / size) revert ProvenEvidenceMalformed(k);
        assembly ("memory-safe") {
            offset := add(add(data.offset, head), 32)
        }
    }

    /// @dev keccak256 of `length` bytes of `b` from `at`, hashed in scratch memory (the caller checks the bounds).
    function _hash(bytes calldata b, uint256 at, uint256 length) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, add(b.offset, at), length)
            h := keccak256(m, length)
        }
    }

    /// @dev The `size` (at most 32) bytes of `b` from `at` as a little-endian unsigned integer (the caller checks
    /// the bounds).
    function _le(bytes calldata b, uint256 at, uint256 size) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            let word := calldataload(add(b.offset, at))
            for {
                let k := size
            } k {
                k := sub(k, 1)
            } {
                v := or(shl(8, v), byte(sub(k, 1), word))
            }
        }
    }

    /// @dev "/" and `p` in five decimal digits: what follows the output's name in the name of the vector of layer p.
    function _suffix(uint256 p) private pure returns (bytes6 suffix) {
        assembly ("memory-safe") {
            let v := 0x2f
            for {
                let d := 10000
            } d {
                d := div(d, 10)
            } {
                v := or(shl(8, v), add(0x30, mod(div(p, d), 10)))
            }
            suffix := shl(208, v)
        }
    }
}
