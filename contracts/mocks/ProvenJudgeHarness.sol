// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ProvenJudge} from "../libraries/ProvenJudge.sol";

/// @notice Exposes ProvenJudge for test/libraries/ProvenJudge.test.ts; it has no other use.
contract ProvenJudgeHarness {
    function judge(
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 weightsRoot,
        bytes calldata input,
        bytes calldata output,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) external pure returns (uint8, uint256, uint256) {
        return ProvenJudge.judge(inputHash, outputHash, weightsRoot, input, output, leaf, proof);
    }

    /// @notice The neuron of `leaf` on `xPrev`, as the judge recomputes it (no proof, no encodings).
    function evaluate(bytes calldata leaf, bytes calldata xPrev) external pure returns (int256) {
        ProvenJudge.Neuron memory n = ProvenJudge.decode(leaf);
        return ProvenJudge.evaluate(n, xPrev, leaf[ProvenJudge.LEAF_HEADER:]);
    }

    /// @notice Whether `output` is a well-formed posted output of `count` layers, and the widths of its vectors
    /// at positions `first` (0 when `first` is 0) and `second`.
    function readOutput(
        bytes calldata output,
        uint256 count,
        uint256 first,
        uint256 second
    ) external pure returns (bool ok, uint256 firstWidth, uint256 secondWidth) {
        (bool read, ProvenJudge.Span memory a, ProvenJudge.Span memory b) = ProvenJudge.readOutput(
            output,
            count,
            first,
            second
        );
        return (read, a.width, b.width);
    }

    /// @notice Whether `input` is one int8 [1, n] tensor, and n.
    function readInput(bytes calldata input) external pure returns (bool ok, uint256 width) {
        (bool read, ProvenJudge.Span memory data) = ProvenJudge.readInput(input);
        return (read, data.width);
    }
}
