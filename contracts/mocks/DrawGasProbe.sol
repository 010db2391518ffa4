// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";

/// @notice Measures the gas of a committee draw as a contract pays it: one external call to
/// `drawCommittee`, from the CALL (staking address cold) to the decoded committee. Used by test/gas/scenarios.ts
/// through eth_call; it has no other use.
contract DrawGasProbe {
    /// @return gasUsed Gas spent between just before and just after the call.
    /// @return drawn Committee members returned (a check that the draw happened).
    function measure(
        IVerifierStaking staking,
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) external view returns (uint256 gasUsed, uint256 drawn) {
        uint256 start = gasleft();
        address[] memory committee = staking.drawCommittee(seed, size, excluded);
        gasUsed = start - gasleft();
        drawn = committee.length;
    }
}
