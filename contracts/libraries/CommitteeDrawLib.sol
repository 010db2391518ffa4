// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {PackedCommittee} from "./PackedCommittee.sol";
import {VoteWord, VoteWordLib} from "./VoteWord.sol";

/// @title CommitteeDrawLib
/// @notice Draws a job's verifier committee in two steps and opens its vote. `request`, in the transaction that needs
/// a committee (a Committee-mode submission, an optimistic challenge: `challenge`), asks the randomness source for
/// a seed that does not exist yet and moves the job to Drawing; `draw`, later and by anyone, draws the
/// stake-weighted committee from that seed with the job's parties excluded, stores the members, moves the job to
/// Voting with its commit and reveal windows and emits CommitteeDrawn. It also keeps the escrow's randomness
/// source and its announced successor (`Sources`).
/// @dev Deployed once and linked into JobEscrow (its functions are public, run by DELEGATECALL on the escrow's
/// storage, so the event is the escrow's): keeping the calls, the failure handling and the storage of the members
/// out of the escrow keeps the escrow under the 24 KiB size limit, for about 3,000 gas a call (the library's
/// address read cold, the arguments encoded).
library CommitteeDrawLib {
    /// @notice Gas a randomness source gets for `requestSeed`; a source that needs more has failed.
    uint256 internal constant REQUEST_GAS = 250_000;
    /// @notice Gas a randomness source gets for `seedOf`; a source that needs more has failed.
    uint256 internal constant SEED_GAS = 100_000;
    /// @dev Gas kept back for the CALL itself and the work after it.
    uint256 private constant CALL_OVERHEAD = 10_000;
    /// @dev A new randomness source is usable this long after the staking exit notice and unbonding period from its
    /// announcement.
    uint256 private constant RANDOMNESS_NOTICE_MARGIN = 1 days;

    /// @notice The randomness source in force and the one announced to replace it (none when `nextReadyAt` is 0).
    struct Sources {
        IRandomnessSource current;
        IRandomnessSource next;
        uint40 nextReadyAt;
    }

    /// @notice What `draw` did.
    enum Drawn {
        Committee, // the committee was drawn: the job is in Voting
        Skipped, // nothing written: the job is not in Drawing, or its seed is not there yet
        TooFew // too few verifiers are eligible: nothing written, the job cannot be judged
    }

    /// @notice Challenges optimistic job `jobId` for `challenger`, records the challenge with its bond,
    /// max(`p.challengeBond`, `fee`), in `record`, emits ResultChallenged and asks for the committee's seed
    /// (`request`, never refusing). The escrow then pulls the bond, and settles the job Inconclusive when the seed
    /// could not be asked for.
    /// @dev Reverts unless the job is Optimistic (JobEscrowNotOptimistic), Submitted (JobEscrowInvalidStatus) with
    /// its challenge window open (JobEscrowChallengeWindowClosed), and `challenger` is an opted-in verifier with
    /// weight that is neither the worker nor `requester` (JobEscrowInvalidChallenger).
    function challenge(
        IJobEscrow.JobState storage state,
        IJobEscrow.Challenge storage record,
        IJobEscrow.EscrowParams storage p,
        IRandomnessSource randomness,
        IVerifierStaking staking,
        uint256 jobId,
        bool optimistic,
        uint256 fee,
        address requester,
        address challenger
    ) public returns (bool requested, uint256 bond) {
        if (!optimistic) revert IJobEscrow.JobEscrowNotOptimistic(jobId);
        if (state.status != IJobEscrow.JobStatus.Submitted)
            revert IJobEscrow.JobEscrowInvalidStatus(jobId, state.status);
        uint256 windowEnd = state.windowEnd;
        if (block.timestamp > windowEnd) revert IJobEscrow.JobEscrowChallengeWindowClosed(jobId, windowEnd);
        if (challenger == state.worker || challenger == requester || staking.verifierWeightOf(challenger) == 0) {
            revert IJobEscrow.JobEscrowInvalidChallenger(jobId, challenger);
        }
        // The bond covers at least the fee: an unresolved challenge pays the worker out of it.
        bond = Math.max(p.challengeBond, fee);
        record.challenger = challenger;
        record.bond = uint96(bond);
        emit IJobEscrow.ResultChallenged(jobId, challenger, bond);
        requested = request(state, p, randomness, jobId, false);
    }

    /// @notice Asks `randomness` for a seed for job `jobId` and moves `state` to Drawing: the committee can be
    /// drawn until `p.commitWindow` from now (`state.windowEnd`), from the seed of the ticket kept in
    /// `state.revealEnd`.
    /// @return requested False, with nothing written, when the source fails (reverts, runs out of its REQUEST_GAS,
    /// returns less than a word or a ticket of 2^40 or more), unless `refuse`: then it reverts with
    /// JobEscrowRandomnessSourceUnusable.
    function request(
        IJobEscrow.JobState storage state,
        IJobEscrow.EscrowParams storage p,
        IRandomnessSource randomness,
        uint256 jobId,
        bool refuse
    ) public returns (bool requested) {
        _requireGas(jobId, REQUEST_GAS);
        bytes4 selector = IRandomnessSource.requestSeed.selector;
        uint256 ticket;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            requested := call(REQUEST_GAS, randomness, 0, 0x00, 0x04, 0x00, 0x20)
            if lt(returndatasize(), 0x20) {
                requested := 0
            }
            ticket := mload(0x00)
        }
        if (!requested || ticket >> 40 != 0) {
            if (refuse) revert IJobEscrow.JobEscrowRandomnessSourceUnusable(address(randomness));
            return false;
        }
        state.status = IJobEscrow.JobStatus.Drawing;
        state.windowEnd = uint40(block.timestamp + p.commitWindow);
        state.revealEnd = uint40(ticket);
    }

    /// @notice Draws and seats (`staking.seatCommittee`) `size` verifiers for job `jobId` in Drawing, with the
    /// seed of its ticket (`state.revealEnd`, read from `randomness`) mixed with the job id, excluding the job's
    /// worker (`state.worker`), `requester`, `modelOwner` (who earns a royalty when the output is accepted) and
    /// `challenger` (none when zero). Then stores the members as their leaves in the staking contract's sum tree
    /// (the first three in the job's vote word in `votes`, the rest in `committee`: see PackedCommittee), moves
    /// `state` to Voting with the commit window and the reveal window after it (`p.commitWindow`,
    /// `p.revealWindow`, from now) and emits CommitteeDrawn.
    /// A job is drawn whenever its seed exists, even after its draw window (`state.windowEnd`): that window only
    /// bounds how long a job waits for a seed that does not come (JobEscrow.settle).
    /// @return result Skipped when the job is not in Drawing, or its seed does not exist yet or the source fails
    /// to answer; with `refuse`, those revert (JobEscrowInvalidStatus, JobEscrowSeedPending). TooFew when fewer
    /// than `size` verifiers are eligible. Any other failure of the draw, such as running out of gas, reverts with
    /// its own reason.
    function draw(
        IJobEscrow.JobState storage state,
        mapping(uint256 jobId => VoteWord) storage votes,
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
    ) public returns (Drawn result) {
        IJobEscrow.JobStatus status = state.status;
        if (status != IJobEscrow.JobStatus.Drawing) {
            if (refuse) revert IJobEscrow.JobEscrowInvalidStatus(jobId, status);
            return Drawn.Skipped;
        }
        uint64 ticket = uint64(state.revealEnd);
        (bool ready, uint256 seed) = _seedOf(address(randomness), ticket, jobId);
        if (!ready) {
            if (refuse) revert IJobEscrow.JobEscrowSeedPending(jobId, ticket);
            return Drawn.Skipped;
        }
        address[] memory excluded = _parties(state.worker, requester, modelOwner, challenger);
        uint256 commitEnd = block.timestamp + p.commitWindow;
        uint256 revealEnd = commitEnd + p.revealWindow;
        address[] memory members;
        uint256[] memory leaves;
        // Seated, the committee holds its members' stake until it settles (`VerifierStaking.withdraw`).
        try staking.seatCommittee(uint256(keccak256(abi.encode(seed, jobId))), size, excluded, revealEnd) returns (
            address[] memory members_,
            uint256[] memory leaves_
        ) {
            (members, leaves) = (members_, leaves_);
        } catch (bytes memory reason) {
            if (bytes4(reason) == IVerifierStaking.VerifierStakingInsufficientVerifiers.selector) return Drawn.TooFew;
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        state.status = IJobEscrow.JobStatus.Voting;
        state.windowEnd = uint40(commitEnd);
        state.revealEnd = uint40(revealEnd);
        state.seats = uint8(members.length);
        votes[jobId] = VoteWordLib.seated(leaves);
        PackedCommittee.storeRest(committee, leaves);
        emit IJobEscrow.CommitteeDrawn(jobId, members, uint64(commitEnd), uint64(revealEnd));
        return Drawn.Committee;
    }

    /// @dev `source.seedOf(ticket)` for job `jobId` with exactly SEED_GAS, copying at most two words back: `ready`
    /// false when it reverts, runs out of that gas, returns less than two words or says the seed does not exist yet.
    function _seedOf(address source, uint64 ticket, uint256 jobId) private view returns (bool ready, uint256 seed) {
        _requireGas(jobId, SEED_GAS);
        bytes4 selector = IRandomnessSource.seedOf.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), ticket)
            let answered := staticcall(SEED_GAS, source, ptr, 0x24, ptr, 0x40)
            if and(answered, iszero(lt(returndatasize(), 0x40))) {
                ready := iszero(iszero(mload(ptr)))
                seed := mload(add(ptr, 0x20))
            }
        }
    }

    /// @notice Makes `source` the one in force, after checking that it answers (`answers`, else
    /// JobEscrowRandomnessSourceUnusable); emits RandomnessSourceUpdated.
    function setSource(Sources storage sources, IRandomnessSource source) public {
        _requireAnswers(source);
        emit IJobEscrow.RandomnessSourceUpdated(address(sources.current), address(source));
        sources.current = source;
    }

    /// @notice Announces `next`, which answers (else JobEscrowRandomnessSourceUnusable), as the source that can be
    /// activated after `staking`'s exit notice and unbonding period and a day more; replaces any earlier
    /// announcement. Emits RandomnessSourceAnnounced.
    function announce(Sources storage sources, IRandomnessSource next, IVerifierStaking staking) public {
        _requireAnswers(next);
        uint256 readyAt = block.timestamp + staking.exitNotice() + staking.unbondingPeriod() + RANDOMNESS_NOTICE_MARGIN;
        sources.next = next;
        sources.nextReadyAt = uint40(readyAt);
        emit IJobEscrow.RandomnessSourceAnnounced(address(next), readyAt);
    }

    /// @notice Puts the announced source in force (`setSource`) once its notice has run out.
    /// @dev Reverts with JobEscrowRandomnessNotAnnounced, or JobEscrowRandomnessNoticePending before `nextReadyAt`.
    function activate(Sources storage sources) public {
        IRandomnessSource next = sources.next;
        uint256 readyAt = sources.nextReadyAt;
        if (readyAt == 0) revert IJobEscrow.JobEscrowRandomnessNotAnnounced();
        if (block.timestamp < readyAt) revert IJobEscrow.JobEscrowRandomnessNoticePending(address(next), readyAt);
        delete sources.next;
        delete sources.nextReadyAt;
        setSource(sources, next);
    }

    /// @notice Whether `source` answers `seedOf` (for ticket 0) with two words: what the escrow checks before it
    /// takes a source.
    function answers(address source) public view returns (bool answered) {
        bytes4 selector = IRandomnessSource.seedOf.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0)
            // Two statements: Yul evaluates arguments right to left, so returndatasize() must be read after the call.
            answered := staticcall(SEED_GAS, source, ptr, 0x24, 0, 0)
            answered := and(answered, iszero(lt(returndatasize(), 0x40)))
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

    function _requireAnswers(IRandomnessSource source) private view {
        if (!answers(address(source))) revert IJobEscrow.JobEscrowRandomnessSourceUnusable(address(source));
    }

    /// @dev Reverts with JobEscrowInsufficientGasForDraw unless a call for job `jobId` can still be given
    /// `allowance` gas, so that a failure of the randomness source is always the source's, never the sender's (who
    /// could otherwise starve it on purpose to skip verification).
    function _requireGas(uint256 jobId, uint256 allowance) private view {
        uint256 needed = allowance + allowance / 63 + CALL_OVERHEAD;
        if (gasleft() < needed) revert IJobEscrow.JobEscrowInsufficientGasForDraw(jobId, gasleft(), needed);
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
