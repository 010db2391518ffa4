// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {ProtocolBounds} from "./ProtocolBounds.sol";

/// @title SettlementMath
/// @notice The split of a job's money for each way it can end, one pure function per outcome: the escrow credits
/// exactly what these return. Every share rounds down; what rounding leaves over goes to the treasury, except on
/// an abandoned or rejected job, where the requester's compensation is what rounds down and the treasury keeps
/// the rest of the slash.
library SettlementMath {
    /// @notice Accepted without a committee: royalty and protocol fee off the top, the rest to the worker.
    function accepted(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps
    ) internal pure returns (IJobEscrow.Settlement memory s) {
        s.royalty = (fee * royaltyBps) / ProtocolBounds.BPS;
        s.treasuryPayment = (fee * protocolFeeBps) / ProtocolBounds.BPS;
        s.workerPayment = fee - s.royalty - s.treasuryPayment;
    }

    /// @notice Accepted by `agreed` (> 0) agreeing verifiers: as `accepted`, but the verifier share of the fee is
    /// split equally among them. A challenge bond the challenger forfeited (`forfeitedBond`, 0 when unchallenged)
    /// goes `compensationBps` to the worker, `verifierRewardBps` to the verifiers' pool, the rest to the treasury.
    /// The pool's remainder after an equal split goes to the treasury.
    function acceptedByCommittee(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps,
        uint256 verifierShareBps,
        uint256 agreed,
        uint256 forfeitedBond,
        uint256 compensationBps,
        uint256 verifierRewardBps
    ) internal pure returns (IJobEscrow.Settlement memory s) {
        s = accepted(fee, royaltyBps, protocolFeeBps);
        uint256 pool = (fee * verifierShareBps) / ProtocolBounds.BPS;
        s.workerPayment -= pool;
        if (forfeitedBond != 0) {
            uint256 toWorker = (forfeitedBond * compensationBps) / ProtocolBounds.BPS;
            uint256 toVerifiers = (forfeitedBond * verifierRewardBps) / ProtocolBounds.BPS;
            s.workerPayment += toWorker;
            s.treasuryPayment += forfeitedBond - toWorker - toVerifiers;
            pool += toVerifiers;
        }
        s.verifierReward = pool / agreed;
        s.rewardedVerifiers = agreed;
        s.treasuryPayment += pool - s.verifierReward * agreed;
    }

    /// @notice Rejected by `disagreed` (> 0) verifiers after `slashed` was taken from the worker: the requester
    /// gets the fee back plus `compensationBps` of the slash; `verifierRewardBps` of it is split equally among the
    /// disagreeing verifiers and, when `challenged`, the challenger, who also gets its `bond` back; the treasury
    /// takes the rest of the slash, the split's remainder included.
    function rejected(
        uint256 fee,
        uint256 slashed,
        uint256 compensationBps,
        uint256 verifierRewardBps,
        uint256 disagreed,
        bool challenged,
        uint256 bond
    ) internal pure returns (IJobEscrow.Settlement memory s) {
        uint256 compensation = (slashed * compensationBps) / ProtocolBounds.BPS;
        uint256 pool = (slashed * verifierRewardBps) / ProtocolBounds.BPS;
        uint256 shares = challenged ? disagreed + 1 : disagreed;
        s.slashed = slashed;
        s.verifierReward = pool / shares;
        s.rewardedVerifiers = disagreed;
        s.requesterRefund = fee + compensation;
        s.treasuryPayment = slashed - compensation - s.verifierReward * shares;
        if (challenged) s.challengerPayment = bond + s.verifierReward;
    }

    /// @notice Claimed but never submitted, after `slashed` was taken from the worker: the requester gets the fee
    /// back plus `compensationBps` of the slash, the treasury the rest of the slash.
    function abandoned(
        uint256 fee,
        uint256 slashed,
        uint256 compensationBps
    ) internal pure returns (IJobEscrow.Settlement memory s) {
        uint256 compensation = (slashed * compensationBps) / ProtocolBounds.BPS;
        s.slashed = slashed;
        s.requesterRefund = fee + compensation;
        s.treasuryPayment = slashed - compensation;
    }

    /// @notice No majority without a challenge, or no committee could be drawn: the fee back to the requester and a
    /// challenger's `bond` (0 when unchallenged) back to the challenger.
    function inconclusive(uint256 fee, uint256 bond) internal pure returns (IJobEscrow.Settlement memory s) {
        s.requesterRefund = fee;
        s.challengerPayment = bond;
    }

    /// @notice A challenge whose committee voted without a majority: it proved nothing, so the challenger, not the
    /// worker, bears it. The requester gets the fee back (the result is not certified) and the worker is paid as if the
    /// result had been accepted without a committee (`accepted`), out of the challenger's `bond`, which is never
    /// less than the fee; the challenger gets the rest of its bond back. A requester challenging its own job
    /// through a second identity pays the fee either way.
    function unresolvedChallenge(
        uint256 fee,
        uint256 royaltyBps,
        uint256 protocolFeeBps,
        uint256 bond
    ) internal pure returns (IJobEscrow.Settlement memory s) {
        s = accepted(fee, royaltyBps, protocolFeeBps);
        s.requesterRefund = fee;
        s.challengerPayment = bond - fee;
    }

    /// @notice Nobody claimed it before its deadline: the fee back to the requester.
    function expired(uint256 fee) internal pure returns (IJobEscrow.Settlement memory s) {
        s.requesterRefund = fee;
    }

    /// @notice The share of `collateral` to slash from an abandoned claim.
    function abandonSlash(uint256 collateral, uint256 timeoutSlashBps) internal pure returns (uint256) {
        return (collateral * timeoutSlashBps) / ProtocolBounds.BPS;
    }
}
