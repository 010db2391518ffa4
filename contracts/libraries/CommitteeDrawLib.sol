// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";
import {PackedCommittee} from "./PackedCommittee.sol";

/// @title CommitteeDrawLib
/// @notice Draws a job's verifier committee and opens its vote: the seed, the stake-weighted draw with its
/// exclusions, the packed committee's storage, the commit and reveal windows and the CommitteeDrawn event.
/// @dev Deployed once and linked into JobEscrow (`draw` is public, run by DELEGATECALL on the escrow's storage, so
/// the event is the escrow's): a draw happens once per committee job, and keeping its code (the calls, the
/// try/catch, the storage of the members, the event) out of the escrow keeps the escrow well under the 24 KiB
/// size limit, for about 3,000 gas on a draw (the library's address read cold, the arguments encoded).
library CommitteeDrawLib {
    /// @notice Draws `size` verifiers for job `jobId` from `staking` with the seed `randomness` gives for the job,
    /// excluding the job's worker (`state.worker`), `requester`, `modelOwner` (who earns a royalty when the output
    /// is accepted) and `challenger` (none when zero). Then stores the members in `committee`, moves `state` to
    /// Voting with the commit window and the reveal window after it (`p.commitWindow`, `p.revealWindow`, from now)
    /// and emits CommitteeDrawn.
    /// @return drawn False, with nothing written, when fewer than `size` verifiers are eligible
    /// (VerifierStakingInsufficientVerifiers). Any other failure of the draw, such as running out of gas, reverts
    /// with its own reason: it must not let a submitter skip verification.
    function draw(
        IJobEscrow.JobState storage state,
        mapping(uint256 word => uint256 packed) storage committee,
        IJobEscrow.EscrowParams storage p,
        IRandomnessSource randomness,
        IVerifierStaking staking,
        uint256 jobId,
        uint256 size,
        address requester,
        address modelOwner,
        address challenger
    ) public returns (bool drawn) {
        address[] memory excluded = new address[](challenger == address(0) ? 3 : 4);
        excluded[0] = state.worker;
        excluded[1] = requester;
        excluded[2] = modelOwner;
        if (challenger != address(0)) excluded[3] = challenger;
        uint256 seed = randomness.randomSeed(jobId);
        address[] memory members;
        try staking.drawCommittee(seed, size, excluded) returns (address[] memory result) {
            members = result;
        } catch (bytes memory reason) {
            if (bytes4(reason) == IVerifierStaking.VerifierStakingInsufficientVerifiers.selector) return false;
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        uint256 commitEnd = block.timestamp + p.commitWindow;
        uint256 revealEnd = commitEnd + p.revealWindow;
        state.status = IJobEscrow.JobStatus.Voting;
        state.windowEnd = uint40(commitEnd);
        state.revealEnd = uint40(revealEnd);
        state.seats = uint8(members.length);
        PackedCommittee.store(committee, members);
        emit IJobEscrow.CommitteeDrawn(jobId, members, uint64(commitEnd), uint64(revealEnd));
        return true;
    }
}
