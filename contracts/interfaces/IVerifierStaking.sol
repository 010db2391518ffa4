// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IVerifierStaking
/// @notice The stake of workers and verifiers: stake, unbond, withdraw; collateral locked by the escrow for jobs;
/// slashes; and the stake-weighted draw of verifier committees.
/// @dev An account's stake is `active` (which includes `locked`) plus `unbonding`. Free stake is
/// `active - locked`. Unbonding stake stays slashable until it is withdrawn, and the unbonding period is never
/// shorter than the longest dispute window of any escrow holding ESCROW_ROLE. Only ESCROW_ROLE may lock, unlock
/// and slash; once anything is staked, ESCROW_ROLE goes only to a contract announced an unbonding period ahead
/// (`announceEscrow`), within a limited time after that and with the code announced, and it is never revoked, so
/// governance cannot reach staked funds. Verifiers opt in with at least `minVerifierStake()` of free stake; their
/// weight in the committee draw is their free stake while it is at least that minimum, and zero below it (they
/// stay opted in and count again once they have enough). A change of the minimum applies to each account at its
/// next stake change.
///
/// Leaving the draw takes notice, so that it cannot shape a draw or dodge a duty already owed: opting out
/// (`setVerifier(false)`) keeps a verifier in the draw, with its weight, for `exitNotice()` (the longest dispute
/// window of the escrows: every job claimed before the opt-out has drawn any committee it needs by then), after
/// which anyone completes the exit (`completeExit`). Until then a verifier cannot take itself out of the draw
/// another way: unstaking or locking collateral that would leave it below the minimum is refused
/// (`VerifierStakingExitNoticeRequired`). Leaving verifiers are not counted by `eligibleVerifiersExcluding`, so an
/// escrow that checks it at a claim knows a committee can still be drawn when the job needs one. Only a slash can
/// take a verifier out of the draw at once.
interface IVerifierStaking {
    /// @notice One account's stake.
    /// @dev Packed so that locking, unlocking and the verifier check touch one storage word; amounts are
    /// bounded by uint96 (7.9e28 base units), far above any realistic token supply held here.
    struct Account {
        uint96 active; // staked and not unbonding; includes `locked`
        uint96 locked; // collateral held for jobs; cannot be unstaked
        uint48 unbondingEnd; // when `unbonding` becomes withdrawable
        bool verifier; // opted in to be drawn for committees (still true while leaving)
        bool leaving; // opted out, still drawn until `exitAt` and `completeExit`
        uint96 unbonding; // requested for withdrawal, withdrawable from `unbondingEnd`, slashable until then
        uint48 exitAt; // while leaving: from when `completeExit` takes the account out of the draw
        // The latest time the stake now unbonding could have been drawn (set by `requestUnstake` of a verifier and by
        // `completeExit`; zero: none of it could): its withdrawal waits for the committees seated by then.
        uint48 drawableUntil;
    }

    /// @notice When governance announced an escrow, the unbonding period then in force, and the hash of the code
    /// the escrow had then (the code that stakers were given notice of).
    struct EscrowNotice {
        uint64 announcedAt;
        uint64 unbondingPeriod;
        bytes32 codeHash;
    }

    /// @notice Emitted when `account` adds `amount` to its active stake.
    event Staked(address indexed account, uint256 amount);
    /// @notice Emitted when governance announces that `escrow`, whose code hashes to `codeHash`, may be granted
    /// ESCROW_ROLE from `readyAt` until just before `expiresAt`.
    /// @dev Both times are at the unbonding period and exit notice in force at the announcement; a longer period or
    /// notice before the grant moves both later by the difference (`escrowReadyAt`, `escrowNoticeExpiresAt`).
    event EscrowAnnounced(address indexed escrow, bytes32 codeHash, uint256 readyAt, uint256 expiresAt);
    /// @notice Emitted when `amount` moves from active to unbonding; all unbonding stake unlocks at `unbondingEnd`.
    event UnstakeRequested(address indexed account, uint256 amount, uint256 unbondingEnd);
    /// @notice Emitted when unbonded stake is paid out.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when the escrow locks `amount` of the account's free stake.
    event StakeLocked(address indexed account, uint256 amount);
    /// @notice Emitted when the escrow releases `amount` of the account's locked stake.
    event StakeUnlocked(address indexed account, uint256 amount);
    /// @notice Emitted when `amount` of the account's stake is taken and sent to `recipient`.
    event StakeSlashed(address indexed account, address indexed recipient, uint256 amount);
    /// @notice Emitted when an account opts in to, or out of, verifier committees (out: when its exit completes,
    /// or at once when it had no weight in the draw).
    event VerifierStatusChanged(address indexed account, bool verifier);
    /// @notice Emitted when a verifier opts out: it stays in the draw until `exitAt`, then `completeExit` applies.
    event VerifierExitRequested(address indexed account, uint256 exitAt);
    /// @notice Emitted when a leaving verifier opts in again before its exit completed.
    event VerifierExitCancelled(address indexed account);
    /// @notice Emitted when governance changes the unbonding period.
    event UnbondingPeriodUpdated(uint256 previousPeriod, uint256 newPeriod);
    /// @notice Emitted when governance changes the stake needed to opt in as a verifier.
    event MinVerifierStakeUpdated(uint256 previousAmount, uint256 newAmount);

    /// @notice An amount of zero was given.
    error VerifierStakingZeroAmount();
    /// @notice The token delivered less than was sent (fee-on-transfer tokens are not supported).
    error VerifierStakingTransferShortfall(uint256 expected, uint256 received);
    /// @notice The account's free stake is smaller than what the operation needs.
    error VerifierStakingInsufficientStake(address account, uint256 freeStake, uint256 needed);
    /// @notice The account has nothing unbonding.
    error VerifierStakingNothingToWithdraw(address account);
    /// @notice The unbonding period of the account has not ended.
    error VerifierStakingStillUnbonding(address account, uint256 unbondingEnd);
    /// @notice The account already has the verifier status it asked for.
    error VerifierStakingVerifierStatusUnchanged(address account, bool verifier);
    /// @notice Fewer eligible verifiers (staked, opted in, not excluded) than the committee needs.
    error VerifierStakingInsufficientVerifiers(uint256 available, uint256 needed);
    /// @notice A committee size of zero or above MAX_COMMITTEE_SIZE.
    error VerifierStakingInvalidCommitteeSize(uint256 size);
    /// @notice A governance parameter outside its bounds.
    error VerifierStakingInvalidParam(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @notice The unbonding period would be shorter than an escrow's longest dispute window.
    error VerifierStakingUnbondingShorterThanDisputeWindow(uint256 unbondingPeriod, uint256 disputeWindow);
    /// @notice A zero address where an account or contract is needed.
    error VerifierStakingZeroAddress();
    /// @notice ESCROW_ROLE, once anything is staked, goes only to an escrow announced with `announceEscrow`.
    error VerifierStakingEscrowNotAnnounced(address escrow);
    /// @notice The escrow's notice period has not run out; it can be granted ESCROW_ROLE from `readyAt`.
    error VerifierStakingEscrowNoticePending(address escrow, uint256 readyAt);
    /// @notice ESCROW_ROLE cannot be revoked or renounced: the escrow's jobs hold stake locked in this contract.
    error VerifierStakingEscrowPermanent(address escrow);
    /// @notice Only a contract can be announced as an escrow: stakers are given notice of its code.
    error VerifierStakingEscrowWithoutCode(address escrow);
    /// @notice The escrow's announcement lapsed at `expiredAt` without a grant; announce it again.
    error VerifierStakingEscrowNoticeExpired(address escrow, uint256 expiredAt);
    /// @notice The escrow's code is not the code announced (`announced`, now `current`); announce it again.
    error VerifierStakingEscrowCodeChanged(address escrow, bytes32 announced, bytes32 current);
    /// @notice Unstaking or locking would leave the verifier `freeStakeAfter` of free stake, below
    /// `minVerifierStake`, and so take it out of the draw without notice: opt out with `setVerifier(false)` and
    /// complete the exit after its notice first (or keep at least the minimum free).
    error VerifierStakingExitNoticeRequired(address account, uint256 freeStakeAfter, uint256 minVerifierStake);
    /// @notice The account is already leaving, or its exit notice runs until `exitAt`.
    error VerifierStakingExitPending(address account, uint256 exitAt);
    /// @notice The account has not opted out: there is no exit to complete.
    error VerifierStakingNoExitPending(address account);
    /// @notice `open` committees whose votes end on `day` (unix time / 1 days) have not settled, and the stake
    /// being withdrawn could sit on them: their penalties are owed from it. Anyone can settle them at their escrow
    /// (JobEscrow.settle, once their reveal window has ended), then withdraw.
    error VerifierStakingCommitteesUnsettled(uint256 day, uint256 open);
    /// @notice An escrow reported a committee settled whose vote ends on a day with no committee open.
    error VerifierStakingNoOpenCommittee(uint256 day);

    /// @notice The ERC-20 token staked, fixed at deployment.
    function token() external view returns (IERC20);

    /// @notice Adds `amount` (pulled from the caller) to the caller's active stake.
    /// @dev Requirements: `amount` > 0; allowance given; the token delivers the full amount.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of free stake into unbonding; it can be withdrawn after the unbonding period.
    /// @dev The unbonding end of all the caller's unbonding stake restarts at now + `unbondingPeriod()`.
    /// Requirements: 0 < `amount` <= free stake; a verifier in the draw keeps at least `minVerifierStake()` free
    /// (else VerifierStakingExitNoticeRequired).
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the caller's unbonded stake.
    /// @dev A verifier's stake stays until every committee it could sit on has settled, so that a penalty it owes
    /// is always collected: when the account's stake was drawable until `drawableUntil`, every committee whose vote
    /// ends by then plus `exitNotice()` must be settled (VerifierStakingCommitteesUnsettled names the first day
    /// that holds one; `unsettledCommitteesFor` tells ahead of time). Anyone can settle them.
    /// Requirements: something unbonding; the unbonding period has ended; those committees settled.
    function withdraw() external returns (uint256 amount);

    /// @notice Opts the caller in (true) or out (false) of verifier committees.
    /// @dev Opting out of the draw takes notice: the caller stays in the draw, with its weight and its duties,
    /// until now + `exitNotice()` (VerifierExitRequested), and `completeExit` takes it out after that. A
    /// verifier with no weight in the draw (below the minimum) opts out at once. Opting in while leaving cancels
    /// the exit (VerifierExitCancelled).
    /// Requirements: the status changes (a leaving verifier cannot opt out again: VerifierStakingExitPending); to
    /// opt in, free stake >= `minVerifierStake()`.
    function setVerifier(bool verifier) external;

    /// @notice Completes the exit of a verifier that opted out: takes it out of the draw and clears its verifier
    /// status. Anyone may call it once the notice has run.
    /// @dev Requirements: `account` is leaving (VerifierStakingNoExitPending) and its `exitAt` has come
    /// (VerifierStakingExitPending).
    function completeExit(address account) external;

    /// @notice Locks `amount` of the account's free stake as collateral.
    /// @dev Requirements: caller has ESCROW_ROLE; `amount` <= free stake; a verifier in the draw keeps at least
    /// `minVerifierStake()` free (else VerifierStakingExitNoticeRequired): collateral comes from stake above it.
    function lock(address account, uint256 amount) external;

    /// @notice Releases `amount` of the account's locked stake.
    /// @dev Requirements: caller has ESCROW_ROLE. Releases at most what is locked (a slash may have taken
    /// locked stake of a misbehaving account).
    function unlock(address account, uint256 amount) external;

    /// @notice Releases `unlockAmount` of the account's locked stake, then takes up to `amount` of its stake and
    /// sends it to `recipient`.
    /// @dev Taken from free stake first, then from unbonding stake, then from stake locked for other jobs (only
    /// when that is all there is). Never takes more than the account holds.
    /// Requirements: caller has ESCROW_ROLE; `recipient` non-zero.
    /// @return slashed What was actually taken.
    function slash(
        address account,
        uint256 unlockAmount,
        uint256 amount,
        address recipient
    ) external returns (uint256 slashed);

    /// @notice Sets the unbonding period.
    /// @dev Requirements: caller has DEFAULT_ADMIN_ROLE; within [MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD];
    /// not shorter than the longest dispute window of any ESCROW_ROLE holder.
    function setUnbondingPeriod(uint256 period) external;

    /// @notice Sets the active stake needed to opt in as a verifier.
    /// @dev Requirements: caller has DEFAULT_ADMIN_ROLE; at most MAX_MIN_VERIFIER_STAKE.
    function setMinVerifierStake(uint256 amount) external;

    /// @notice Announces that `escrow` will be granted ESCROW_ROLE, which lets it lock and slash stake. Once anything
    /// is staked, the grant is refused before `escrowReadyAt(escrow)`: the unbonding period (the longer of the one in
    /// force now and at the grant) plus the exit notice (`exitNotice()`, at the grant) plus ESCROW_NOTICE_MARGIN, so
    /// that a verifier that opts out on the announcement, then unstakes, has withdrawn before the new escrow has any
    /// power. The grant is also refused from
    /// `escrowNoticeExpiresAt(escrow)` (ESCROW_NOTICE_VALIDITY after `escrowReadyAt`), so an old announcement cannot
    /// surprise whoever staked after it, and refused if the escrow's code is no longer the code announced. Without
    /// an announcement, ESCROW_ROLE is granted only while nothing is staked (`totalStake()` is zero, as at
    /// deployment). ESCROW_ROLE is never revoked.
    /// @dev Records `escrow`'s code hash (EXTCODEHASH) with the notice. Announcing again restarts the notice and
    /// records the code the escrow has then. Stakers should watch `EscrowAnnounced`: an escrow announced before
    /// they staked may be granted the role without further notice until its announcement expires.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `escrow` non-zero and has code.
    function announceEscrow(address escrow) external;

    /// @notice When `escrow` can be granted ESCROW_ROLE; zero when it was never announced.
    function escrowReadyAt(address escrow) external view returns (uint256);

    /// @notice From when `escrow`'s announcement no longer allows the grant (`escrowReadyAt` plus
    /// ESCROW_NOTICE_VALIDITY); zero when it was never announced.
    function escrowNoticeExpiresAt(address escrow) external view returns (uint256);

    /// @notice Draws `size` distinct verifiers weighted by free stake, skipping every address in `excluded`.
    /// @dev O(size * log n) storage reads for n verifiers ever opted in. Deterministic in `seed` and state.
    /// Reverts with VerifierStakingInsufficientVerifiers when fewer than `size` eligible verifiers have stake.
    function drawCommittee(
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) external view returns (address[] memory committee);

    /// @notice `drawCommittee`, with each member's leaf: the index of its leaf in the draw's sum tree, below 2^32,
    /// which stands for the same account for good (`verifierAtLeaf`). An escrow stores a committee as leaves,
    /// 32 bits each, instead of 20-byte addresses.
    function drawCommitteeLeaves(
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) external view returns (address[] memory committee, uint256[] memory leaves);

    /// @notice `drawCommitteeLeaves` for an escrow seating a committee whose vote ends at `voteEnd`: the committee
    /// is counted open until the escrow reports it settled (`committeeSettled`), and until then no stake that could
    /// have been drawn onto it can be withdrawn (`withdraw`).
    /// @dev Requirements: caller has ESCROW_ROLE; `voteEnd` is not in the past (VerifierStakingInvalidParam).
    function seatCommittee(
        uint256 seed,
        uint256 size,
        address[] calldata excluded,
        uint256 voteEnd
    ) external returns (address[] memory committee, uint256[] memory leaves);

    /// @notice Counts a committee seated with vote end `voteEnd` as settled.
    /// @dev Requirements: caller has ESCROW_ROLE; a committee is open on that day (VerifierStakingNoOpenCommittee).
    function committeeSettled(uint256 voteEnd) external;

    /// @notice How many committees whose votes end on `day` (unix time / 1 days) are seated and not settled.
    function openCommittees(uint256 day) external view returns (uint256);

    /// @notice What keeps `account` from withdrawing its unbonding stake because of committees it could sit on: the
    /// first day with `open` unsettled committees that its withdrawal waits for; (0, 0) when none does.
    function unsettledCommitteesFor(address account) external view returns (uint256 day, uint256 open);

    /// @notice The account whose leaf in the draw's sum tree is `leaf`; zero for a leaf never given out.
    function verifierAtLeaf(uint256 leaf) external view returns (address);

    /// @notice `verifierAtLeaf` for each of `leaves`.
    function verifiersAtLeaves(uint256[] calldata leaves) external view returns (address[] memory);

    /// @notice An account's stake.
    function accountOf(address account) external view returns (Account memory);

    /// @notice An account's free stake (active minus locked).
    function freeStakeOf(address account) external view returns (uint256);

    /// @notice The account's weight in committee draws: its free stake if it is a verifier holding at least
    /// `minVerifierStake()` of it, else zero.
    function verifierWeightOf(address account) external view returns (uint256);

    /// @notice Sum of every account's stake, active (locked included) and unbonding: what stakers have in this
    /// contract. Tokens sent here without `stake` do not count.
    function totalStake() external view returns (uint256);

    /// @notice Sum of all verifiers' weights.
    function totalVerifierWeight() external view returns (uint256);

    /// @notice Number of verifiers with a non-zero weight (leaving ones included: they are still drawn).
    function eligibleVerifierCount() external view returns (uint256);

    /// @notice Number of leaving verifiers (opted out, exit not completed) that still have a weight in the draw.
    function leavingVerifierCount() external view returns (uint256);

    /// @notice Number of verifiers with a non-zero weight other than the accounts in `excluded`, less the leaving
    /// ones: how many a committee excluding them could be drawn from, now and for the exit notice ahead.
    /// @dev Conservative: every leaving verifier with weight is subtracted, also one that is in `excluded`.
    function eligibleVerifiersExcluding(address[] calldata excluded) external view returns (uint256);

    /// @notice How long a verifier that opts out stays in the draw, in seconds: the longest dispute window of the
    /// escrows holding ESCROW_ROLE, so that a job claimed before the opt-out can always draw its committee.
    function exitNotice() external view returns (uint256);

    /// @notice Current unbonding period in seconds.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Active stake needed to opt in as a verifier.
    function minVerifierStake() external view returns (uint256);
}

/// @title IDisputeWindowSource
/// @notice Implemented by escrows so the staking contract can keep its unbonding period longer than any dispute.
interface IDisputeWindowSource {
    /// @notice Longest time, in seconds, from a claim until its job can no longer be disputed
    /// (submission + challenge + draw + commit + reveal windows).
    function maxDisputeWindow() external view returns (uint256);
}
