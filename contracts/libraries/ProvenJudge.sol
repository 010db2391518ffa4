// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title ProvenJudge
/// @notice The judge of the Proven mode (docs/FRAUD-PROOFS.md, "The judge"): convicts a posted trace of an integer
/// model from one neuron. A trace is the list of activation vectors x0 … xL a worker posted; the escrow keeps one
/// word committing to their hashes (`keccak256(h0 ‖ … ‖ hL)`, hℓ = keccak256(xℓ)), and the model's version a
/// Merkle root over its neurons (`weightsRoot`). A proof names one neuron by its leaf and brings the two vectors
/// around it; the judge recomputes the neuron and convicts only when the trace cannot be the model's.
/// @dev An external library, so that the escrow carries none of its code. Every refusal is a named revert, so a
/// false accusation costs only its sender's gas.
library ProvenJudge {
    /// @notice Bytes of a neuron leaf before its weight column: ℓ u16, j u32, L u16, nIn u32, nOut u32, M u32,
    /// s u8, relu u8, bias int32, all big-endian.
    uint256 internal constant LEAF_HEADER = 26;
    /// @notice Largest shift a profile layer may have.
    uint256 internal constant MAX_SHIFT = 62;

    /// @notice How a trace was convicted.
    enum Fraud {
        TraceShape, // the trace does not have L + 1 vectors
        VectorLength, // x(ℓ-1) or xℓ does not have the layer's width
        Neuron // neuron j of layer ℓ is not what x(ℓ-1) and its leaf give
    }

    /// @notice The hashes given do not hash to the job's trace commitment.
    error ProvenHashListMismatch(bytes32 commitment, bytes32 given);
    /// @notice The leaf (hashing to `leafHash`) is not in the version's weightsRoot with the proof given.
    error ProvenLeafNotInModel(bytes32 leafHash);
    /// @notice The leaf is in the root but is not a neuron leaf of the profile (a root no file gives).
    error ProvenLeafMalformed(uint256 length);
    /// @notice x(ℓ-1) does not hash to h(ℓ-1).
    error ProvenPreviousVectorMismatch(uint256 layer);
    /// @notice xℓ does not hash to hℓ.
    error ProvenVectorMismatch(uint256 layer);
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

    /// @notice Convicts the trace committed to by `commitment` through the neuron whose leaf is `leaf`, in
    /// `weightsRoot` by `proof`, with the posted vectors `xPrev` (x(ℓ-1)) and `x` (xℓ) and the list `hashes`
    /// (h0 … hK) of the trace's vector hashes. Reverts with a named error unless the trace is proven wrong.
    /// @return fraud How it was convicted (a `Fraud`, as uint8: a library's external ABI cannot carry its enum);
    /// `layer` and `index` the neuron named.
    function judge(
        bytes32 commitment,
        bytes32 weightsRoot,
        bytes32[] calldata hashes,
        bytes calldata xPrev,
        bytes calldata x,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) external pure returns (uint8 fraud, uint256 layer, uint256 index) {
        bytes32 given = keccak256(abi.encodePacked(hashes));
        if (given != commitment) revert ProvenHashListMismatch(commitment, given);
        bytes32 leafHash = keccak256(bytes.concat(keccak256(leaf)));
        if (!MerkleProof.verifyCalldata(proof, weightsRoot, leafHash)) revert ProvenLeafNotInModel(leafHash);
        Neuron memory n = decode(leaf);
        (layer, index) = (n.layer, n.index);
        // The model has L + 1 vectors; a trace with another count (even one vector, with no layer to name) is not
        // its trace.
        if (hashes.length != n.layers + 1) return (uint8(Fraud.TraceShape), layer, index);
        if (keccak256(xPrev) != hashes[layer - 1]) revert ProvenPreviousVectorMismatch(layer);
        if (keccak256(x) != hashes[layer]) revert ProvenVectorMismatch(layer);
        if (xPrev.length != n.nIn || x.length != n.nOut) return (uint8(Fraud.VectorLength), layer, index);
        int256 value = evaluate(n, xPrev, leaf[LEAF_HEADER:]);
        int256 posted = int8(uint8(x[index]));
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
}
