// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TensorReader} from "./TensorReader.sol";

/// @title IoSignatureLib
/// @notice Checks a model version's declared input/output signature (the TMS1 bytes of docs/TENSOR-ENCODING.md)
/// and computes the exact size of a conforming input: what lets the escrow refuse an input of the wrong size
/// before the requester pays for it.
/// @dev TMS1, little-endian, no padding: "TMS1", u32 input count >= 1, the inputs, u32 output count >= 1, the
/// outputs, nothing after. Each entry: u16 name length (>= 1), the name, u8 element type code (the TML1 codes),
/// u8 rank, rank u64 dimensions. A dimension is at most 2^53 - 1, or DYNAMIC in an output; every input dimension
/// is fixed. Names are strictly ascending within the inputs and within the outputs, compared as bytes. The one
/// rule not checked here is that names are well-formed UTF-8: a name that is not can never be matched by a
/// canonical input, which the off-chain checkers refuse.
/// The size of a conforming input is its TML1 encoding's length: 8 + the sum over inputs of
/// 2 + name length + 2 + 8 * rank + element size * the product of the dimensions.
library IoSignatureLib {
    /// @notice The signature is not canonical TMS1: the problem was found at byte `offset`.
    error IoSignatureMalformed(uint256 offset);

    /// @dev "TMS1".
    bytes4 private constant MAGIC = 0x544d5331;
    /// @notice The dimension of an output whose size the model decides.
    uint256 internal constant DYNAMIC = type(uint64).max;
    /// @dev An element count past 2^64 - 1, where the count stops growing.
    uint256 private constant SATURATED = 2 ** 64;
    /// @dev Bytes of a conforming input around its tensors: the magic and the tensor count.
    uint256 private constant LIST_HEADER_BYTES = 8;

    /// @notice Checks `signature` and returns the byte size of every input that conforms to it.
    /// @dev Reverts with IoSignatureMalformed at the first problem; inputs of more than 2^64 - 1 bytes count as
    /// one (at the end of the input that makes them so), as they do for the TypeScript codec
    /// (packages/sdk/src/signature.ts).
    function inputSize(bytes calldata signature) internal pure returns (uint64) {
        if (signature.length < 4 || bytes4(signature[:4]) != MAGIC) revert IoSignatureMalformed(0);
        (uint256 at, uint256 size) = _entries(signature, 4, true);
        (at, ) = _entries(signature, at, false);
        if (at != signature.length) revert IoSignatureMalformed(at);
        // _entries keeps every partial size within uint64.
        return uint64(size + LIST_HEADER_BYTES);
    }

    /// @dev Reads a count and its entries from `at`; returns where they end and, for inputs, their encoded size.
    function _entries(bytes calldata signature, uint256 at, bool inputs) private pure returns (uint256, uint256) {
        uint256 count;
        (count, at) = _read(signature, at, 4);
        if (count == 0) revert IoSignatureMalformed(at - 4);
        uint256 size;
        uint256 previous;
        uint256 previousLength;
        for (uint256 i; i < count; ++i) {
            uint256 length;
            (length, at) = _read(signature, at, 2);
            if (length == 0 || signature.length - at < length) revert IoSignatureMalformed(at - 2);
            if (i != 0 && !_before(signature[previous:previous + previousLength], signature[at:at + length])) {
                revert IoSignatureMalformed(at);
            }
            (previous, previousLength) = (at, length);
            uint256 elementSize;
            (elementSize, at) = _read(signature, at + length, 1);
            // The code is one byte; the element sizes are the TML1 reader's (0 for a code TML1 does not have).
            elementSize = TensorReader.elementSize(uint8(elementSize));
            if (elementSize == 0) revert IoSignatureMalformed(at - 1);
            uint256 rank;
            (rank, at) = _read(signature, at, 1);
            uint256 elements = 1;
            for (uint256 k; k < rank; ++k) {
                uint256 dimension;
                (dimension, at) = _read(signature, at, 8);
                if (dimension == DYNAMIC && !inputs) continue;
                if (dimension > TensorReader.MAX_DIMENSION) revert IoSignatureMalformed(at - 8);
                // Saturates just above 2^64 - 1 rather than reverting, so that a later dimension of 0 still makes
                // the count 0; both factors are below 2^65, so the product fits.
                elements *= dimension;
                if (elements > type(uint64).max) elements = SATURATED;
            }
            if (inputs) {
                // 2 + length + 2 + 8 * rank < 2^20 and elements * elementSize <= 2^67: no overflow before the bound,
                // which a saturated count always exceeds.
                size += 4 + length + 8 * rank + elements * elementSize;
                if (size + LIST_HEADER_BYTES > type(uint64).max) revert IoSignatureMalformed(at);
            }
        }
        return (at, size);
    }

    /// @dev Reads a little-endian unsigned integer of `width` bytes at `at`; reverts when it runs past the end.
    function _read(bytes calldata signature, uint256 at, uint256 width) private pure returns (uint256 value, uint256) {
        if (signature.length < at + width) revert IoSignatureMalformed(signature.length);
        // One word read instead of `width` bounds-checked byte reads: the bytes at..at+width-1 are inside the
        // signature (checked above), and the word's bytes past them are not used.
        assembly ("memory-safe") {
            let word := calldataload(add(signature.offset, at))
            for {
                let k := 0
            } lt(k, width) {
                k := add(k, 1)
            } {
                value := or(value, shl(mul(8, k), byte(k, word)))
            }
        }
        return (value, at + width);
    }

    /// @dev Whether name `a` sorts strictly before `b`: the first differing byte decides, else the shorter.
    function _before(bytes calldata a, bytes calldata b) private pure returns (bool) {
        uint256 shorter = a.length < b.length ? a.length : b.length;
        // 32 bytes at a time: two words compare as big-endian numbers exactly as their bytes compare in order. The
        // bytes past `shorter` in the last words are masked off.
        for (uint256 k; k < shorter; k += 32) {
            uint256 wordA;
            uint256 wordB;
            assembly ("memory-safe") {
                wordA := calldataload(add(a.offset, k))
                wordB := calldataload(add(b.offset, k))
            }
            if (shorter - k < 32) {
                uint256 mask = ~(type(uint256).max >> (8 * (shorter - k)));
                (wordA, wordB) = (wordA & mask, wordB & mask);
            }
            if (wordA != wordB) return wordA < wordB;
        }
        return a.length < b.length;
    }
}
