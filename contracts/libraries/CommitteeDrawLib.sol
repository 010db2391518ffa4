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
    /// @notice Gas a randomness source gets for `randomSeed`; a source that needs more has failed.
    uint256 internal constant RANDOMNESS_GAS = 100_000;
    /// @dev Gas kept back for the STATICCALL itself and the work after it.
    uint256 private constant CALL_OVERHEAD = 10_000;

    /// @notice Draws `size` verifiers for job `jobId` from `staking` with the seed `randomness` gives (`seedOf`),
    /// excluding the job's worker (`state.worker`), `requester`, `modelOwner` (who earns a royalty when the output
    /// is accepted) and `challenger` (none when zero). Then stores the members in `committee`, moves `state` to
    /// Voting with the commit window and the reveal window after it (`p.commitWindow`, `p.revealWindow`, from now)
    /// and emits CommitteeDrawn.
    /// @return drawn False, with nothing written, when the randomness source fails or fewer than `size` verifiers
    /// are eligible (VerifierStakingInsufficientVerifiers), unless `refuse`: then those revert too
    /// (JobEscrowRandomnessSourceUnusable, VerifierStakingInsufficientVerifiers). Any other failure of the
    /// draw, such as running out of gas, reverts with its own reason: it must not let a submitter skip
    /// verification.
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
        address challenger,
        bool refuse
    ) public returns (bool drawn) {
        address[] memory excluded = _parties(state.worker, requester, modelOwner, challenger);
        (bool seeded, uint256 seed) = seedOf(address(randomness), jobId);
        if (!seeded) {
            if (refuse) revert IJobEscrow.JobEscrowRandomnessSourceUnusable(address(randomness));
            return false;
        }
        address[] memory members;
        try staking.drawCommittee(seed, size, excluded) returns (address[] memory result) {
            members = result;
        } catch (bytes memory reason) {
            if (!refuse && bytes4(reason) == IVerifierStaking.VerifierStakingInsufficientVerifiers.selector) {
                return false;
            }
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

    /// @notice `source.randomSeed(jobId)` with exactly RANDOMNESS_GAS, copying at most one word back: false when it
    /// reverts, runs out of that gas or returns less than a word.
    /// @dev Reverts with JobEscrowInsufficientGasForDraw when the caller left too little gas for the source to
    /// have its RANDOMNESS_GAS, so that a failure is always the source's, never the sender's.
    /// `source` is an address, not an IRandomnessSource, so that the library's ABI has only ABI types.
    function seedOf(address source, uint256 jobId) public view returns (bool seeded, uint256 seed) {
        uint256 needed = RANDOMNESS_GAS + RANDOMNESS_GAS / 63 + CALL_OVERHEAD;
        if (gasleft() < needed) revert IJobEscrow.JobEscrowInsufficientGasForDraw(jobId, gasleft(), needed);
        bytes4 selector = IRandomnessSource.randomSeed.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), jobId)
            seeded := staticcall(RANDOMNESS_GAS, source, ptr, 0x24, 0x00, 0x20)
            if lt(returndatasize(), 0x20) {
                seeded := 0
            }
            seed := mload(0x00)
        }
    }

    /// @notice Reverts with JobEscrowNotEnoughVerifiers unless `staking` has `needed` eligible verifiers besides
    /// `worker`, `requester` and `modelOwner`: whether a committee could be drawn for job `jobId` now.
    function requireVerifiers(
        address staking,
        uint256 jobId,
        address worker,
        address requester,
        address modelOwner,
        uint256 needed
    ) public view {
        address[] memory excluded = _parties(worker, requester, modelOwner, address(0));
        uint256 eligible = IVerifierStaking(staking).eligibleVerifiersExcluding(excluded);
        if (eligible < needed) revert IJobEscrow.JobEscrowNotEnoughVerifiers(jobId, eligible, needed);
    }

    /// @dev The accounts a job's committee never includes: its worker, requester, model owner and challenger (left
    /// out when zero).
    function _parties(
        address worker,
        address requester,
        address modelOwner,
        address challenger
    ) private pure returns (address[] memory parties) {
        parties = new address[](challenger == address(0) ? 3 : 4);
        parties[0] = worker;
        parties[1] = requester;
        parties[2] = modelOwner;
        if (challenger != address(0)) parties[3] = challenger;
    }
}
