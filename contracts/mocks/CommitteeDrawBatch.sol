// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";

/// @notice Draws many committees in one eth_call, each through the real `VerifierStaking.drawCommittee`, for the
/// statistical tests of test/CommitteeDraw.test.ts: one call for a batch of draws instead of one call per draw,
/// whose JSON-RPC round trip costs far more than the draw itself. It has no other use.
contract CommitteeDrawBatch {
    /// @return committees `committees[i]` is `staking.drawCommittee(firstSeed + i, size, excluded)`.
    function drawCommittees(
        IVerifierStaking staking,
        uint256 firstSeed,
        uint256 count,
        uint256 size,
        address[] calldata excluded
    ) external view returns (address[][] memory committees) {
        committees = new address[][](count);
        for (uint256 i; i < count; ++i) {
            committees[i] = staking.drawCommittee(firstSeed + i, size, excluded);
        }
    }
}
