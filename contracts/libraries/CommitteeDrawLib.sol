// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";
import {PackedCommittee} from "./PackedCommittee.sol";

/// @title CommitteeDrawLib
/// @notice Draws a job's verifier committee in two steps and opens its vote. `request`, in the transaction that needs
/// a committee (a Committee-mode submission, an optimistic challenge), asks the randomness source for a seed that
/// does not exist yet and moves the job to Drawing; `draw`, later and by anyone, draws the stake-weighted committee
/// from that seed with the job's parties excluded, stores the members, moves the job to Voting with its commit and
/// reveal windows and emits CommitteeDrawn.
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

    /// @notice What `draw` did.
    enum Drawn {
        Committee, // the committee was drawn: the job is in Voting
        Pending, // the seed does not exist yet (or the source does not answer): nothing written
        TooFew // too few verifiers are eligible: nothing written, the job cannot be judged
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

    /// @notice Draws `size` verifiers for job `jobId` in Drawing from `staking`, with the seed of its ticket
    /// (`state.revealEnd`, read from `randomness`) mixed with the job id, excluding the job's worker
    /// (`state.worker`), `requester`, `modelOwner` (who earns a royalty when the output is accepted) and
    /// `challenger` (none when zero). Then stores the members in `committee`, moves `state` to Voting with the
    /// commit window and the reveal window after it (`p.commitWindow`, `p.revealWindow`, from now) and emits
    /// CommitteeDrawn. The caller checks the status and the draw window.
    /// @return result Pending when the seed does not exist yet or the source fails to answer (with `refuse`, it
    /// reverts then with JobEscrowSeedPending); TooFew when fewer than `size` verifiers are eligible. Any other
    /// failure of the draw, such as running out of gas, reverts with its own reason.
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
    ) public returns (Drawn result) {
        uint64 ticket = uint64(state.revealEnd);
        (bool ready, uint256 seed) = _seedOf(address(randomness), ticket, jobId);
        if (!ready) {
            if (refuse) revert IJobEscrow.JobEscrowSeedPending(jobId, ticket);
            return Drawn.Pending;
        }
        address[] memory excluded = _parties(state.worker, requester, modelOwner, challenger);
        address[] memory members;
        try staking.drawCommittee(uint256(keccak256(abi.encode(seed, jobId))), size, excluded) returns (
            address[] memory result_
        ) {
            members = result_;
        } catch (bytes memory reason) {
            if (bytes4(reason) == IVerifierStaking.VerifierStakingInsufficientVerifiers.selector) return Drawn.TooFew;
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

    /// @notice Whether `source` answers `seedOf` (for ticket 0) with two words: what the escrow checks before it
    /// takes a source.
    function answers(address source) public view returns (bool answered) {
        bytes4 selector = IRandomnessSource.seedOf.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0)
            // Yul evaluates arguments right to left: the call must come first, so returndatasize is its own.
            let called := staticcall(SEED_GAS, source, ptr, 0x24, 0, 0)
            answered := and(called, iszero(lt(returndatasize(), 0x40)))
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
