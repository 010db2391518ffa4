// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {SettlementMath} from "../libraries/SettlementMath.sol";

/// @notice Exposes SettlementMath for test/libraries/SettlementMath.test.ts; it has no other use.
contract SettlementMathHarness {
    function accepted(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps
    ) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.accepted(fee, royaltyBps, protocolFeeBps);
    }

    function acceptedByCommittee(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps,
        uint256 verifierShareBps,
        uint256 agreed,
        uint256 forfeitedBond,
        uint256 compensationBps,
        uint256 verifierRewardBps
    ) external pure returns (IJobEscrow.Settlement memory) {
        return
            SettlementMath.acceptedByCommittee(
                fee,
                royaltyBps,
                protocolFeeBps,
                verifierShareBps,
                agreed,
                forfeitedBond,
                compensationBps,
                verifierRewardBps
            );
    }

    function rejected(
        uint256 fee,
        uint256 slashed,
        uint256 compensationBps,
        uint256 verifierRewardBps,
        uint256 disagreed,
        bool challenged,
        uint256 bond
    ) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.rejected(fee, slashed, compensationBps, verifierRewardBps, disagreed, challenged, bond);
    }

    function abandoned(
        uint256 fee,
        uint256 slashed,
        uint256 compensationBps
    ) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.abandoned(fee, slashed, compensationBps);
    }

    function inconclusive(uint256 fee, uint256 bond) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.inconclusive(fee, bond);
    }

    function unresolvedChallenge(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps,
        uint256 bond
    ) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.unresolvedChallenge(fee, royaltyBps, protocolFeeBps, bond);
    }

    function expired(uint256 fee) external pure returns (IJobEscrow.Settlement memory) {
        return SettlementMath.expired(fee);
    }

    function abandonSlash(uint256 collateral, uint256 timeoutSlashBps) external pure returns (uint256) {
        return SettlementMath.abandonSlash(collateral, timeoutSlashBps);
    }
}
