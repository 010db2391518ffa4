// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ProvenJudge} from "../libraries/ProvenJudge.sol";

/// @notice Exposes ProvenJudge for test/libraries/ProvenJudge.test.ts; it has no other use.
contract ProvenJudgeHarness {
    function judge(
        bytes32 commitment,
        bytes32 weightsRoot,
        bytes32[] calldata hashes,
        bytes calldata xPrev,
        bytes calldata x,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) external pure returns (uint8, uint256, uint256) {
        return ProvenJudge.judge(commitment, weightsRoot, hashes, xPrev, x, leaf, proof);
    }

    /// @notice The neuron of `leaf` on `xPrev`, as the judge recomputes it (no proof, no commitment).
    function evaluate(bytes calldata leaf, bytes calldata xPrev) external pure returns (int256) {
        ProvenJudge.Neuron memory n = ProvenJudge.decode(leaf);
        return ProvenJudge.evaluate(n, xPrev, leaf[ProvenJudge.LEAF_HEADER:]);
    }

    /// @notice Gas of one `judge` call that convicts, measured inside the call (for the gas figures).
    function judgeGas(
        bytes32 commitment,
        bytes32 weightsRoot,
        bytes32[] calldata hashes,
        bytes calldata xPrev,
        bytes calldata x,
        bytes calldata leaf,
        bytes32[] calldata proof
    ) external view returns (uint256 used) {
        used = gasleft();
        ProvenJudge.judge(commitment, weightsRoot, hashes, xPrev, x, leaf, proof);
        used -= gasleft();
    }
}
