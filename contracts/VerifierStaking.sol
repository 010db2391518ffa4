// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IVerifierStaking, IDisputeWindowSource} from "./interfaces/IVerifierStaking.sol";
import {ProtocolBounds} from "./libraries/ProtocolBounds.sol";
import {SortitionSumTree} from "./libraries/SortitionSumTree.sol";

/// @title VerifierStaking
/// @notice Stake of workers and verifiers, collateral locks and slashes on behalf of the escrow, and the
/// stake-weighted verifier committee draw.
contract VerifierStaking is IVerifierStaking, AccessControlEnumerable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SortitionSumTree for SortitionSumTree.Tree;

    /// @notice May lock, unlock and slash stake.
    bytes32 public constant ESCROW_ROLE = keccak256("ESCROW_ROLE");
    /// @notice Shortest unbonding period governance may set.
    uint256 public constant MIN_UNBONDING_PERIOD = 1 hours;
    /// @notice Longest unbonding period governance may set.
    uint256 public constant MAX_UNBONDING_PERIOD = 90 days;
    /// @notice Unbonding period at deployment.
    uint256 public constant DEFAULT_UNBONDING_PERIOD = 7 days;
    /// @notice Largest stake governance may require of verifiers.
    uint256 public constant MAX_MIN_VERIFIER_STAKE = 1e27;
    /// @notice Largest committee that can be drawn.
    uint256 public constant MAX_COMMITTEE_SIZE = ProtocolBounds.MAX_COMMITTEE_SIZE;
    /// @notice Time on top of the unbonding period between announcing an escrow and granting it ESCROW_ROLE.
    uint256 public constant ESCROW_NOTICE_MARGIN = 1 days;
    /// @notice How long from `escrowReadyAt` an announcement allows the grant; after that it must be made again.
    uint256 public constant ESCROW_NOTICE_VALIDITY = 30 days;

    IERC20 private immutable TOKEN;

    uint256 private _unbondingPeriod;
    // One word: a verifier's stake change reads the minimum (for its draw weight) and writes the total.
    uint96 private _minVerifierStake; // at most MAX_MIN_VERIFIER_STAKE < 2^96
    uint160 private _totalStake; // every account's active and unbonding stake
    mapping(address account => Account) private _accounts;
    mapping(address escrow => EscrowNotice) private _escrowNotices;
    SortitionSumTree.Tree private _verifiers;
    /// @dev Committees seated and settled, by the day their votes end. Both counts only grow, so a day's word is
    /// written from zero once (a count that went back to zero would cost a fresh write at the next committee).
    mapping(uint256 day => CommitteeDay) private _committeeDays;
    /// @dev Every day before this one has all its committees settled, and can get no new ones (votes end in the
    /// future): a withdrawal checks the days from here.
    uint256 private _settledBefore;

    /// @dev The committees seated (`seatCommittee`) and settled (`committeeSettled`) whose votes end on one day.
    struct CommitteeDay {
        uint128 seated;
        uint128 settled;
    }

    /// @param stakeToken The ERC-20 staked (the escrow's fee token).
    /// @param admin Governance: DEFAULT_ADMIN_ROLE, which grants ESCROW_ROLE and sets parameters.
    /// @param minStake Active stake needed to opt in as a verifier.
    constructor(IERC20 stakeToken, address admin, uint256 minStake) {
        if (address(stakeToken) == address(0) || admin == address(0)) revert VerifierStakingZeroAddress();
        TOKEN = stakeToken;
        _unbondingPeriod = DEFAULT_UNBONDING_PERIOD;
        _setMinVerifierStake(minStake);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _settledBefore = block.timestamp / 1 days;
    }

    /// @inheritdoc IVerifierStaking
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert VerifierStakingZeroAmount();
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert VerifierStakingTransferShortfall(amount, received);

        Account storage account = _accounts[msg.sender];
        account.active = (account.active + amount).toUint96();
        // amount < 2^96 (it fit into `active` above) and the total < 2^160, so the sum cannot overflow uint256.
        unchecked {
            _totalStake = (_totalStake + amount).toUint160();
        }
        _syncWeight(msg.sender, account, true);
        emit Staked(msg.sender, amount);
    }

    /// @inheritdoc IVerifierStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert VerifierStakingZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 free = account.active - account.locked;
        if (amount > free) revert VerifierStakingInsufficientStake(msg.sender, free, amount);
        // amount <= free <= active, so the subtraction cannot underflow and `amount` fits in uint96.
        account.active -= uint96(amount);
        account.unbonding = (account.unbonding + amount).toUint96();
        uint256 unbondingEnd = block.timestamp + _unbondingPeriod;
        account.unbondingEnd = unbondingEnd.toUint48();
        // A verifier's stake was drawable until now: its withdrawal waits for the committees it could sit on.
        if (account.verifier) account.drawableUntil = uint48(block.timestamp);
        _syncWeight(msg.sender, account, true);
        emit UnstakeRequested(msg.sender, amount, unbondingEnd);
    }

    /// @inheritdoc IVerifierStaking
    function withdraw() external nonReentrant returns (uint256 amount) {
        Account storage account = _accounts[msg.sender];
        amount = account.unbonding;
        if (amount == 0) revert VerifierStakingNothingToWithdraw(msg.sender);
        if (block.timestamp < account.unbondingEnd) {
            revert VerifierStakingStillUnbonding(msg.sender, account.unbondingEnd);
        }
        uint256 drawableUntil = account.drawableUntil;
        if (drawableUntil != 0) {
            (uint256 day, uint256 open, uint256 settledBefore) = _unsettledCommittees(drawableUntil);
            if (open != 0) revert VerifierStakingCommitteesUnsettled(day, open);
            if (settledBefore != _settledBefore) _settledBefore = settledBefore;
            account.drawableUntil = 0;
        }
        account.unbonding = 0;
        account.unbondingEnd = 0;
        // The total includes this account's unbonding stake, so it cannot underflow; amount < 2^96.
        unchecked {
            _totalStake -= uint160(amount);
        }
        TOKEN.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @inheritdoc IVerifierStaking
    function setVerifier(bool verifier) external {
        Account storage account = _accounts[msg.sender];
        if (account.leaving) {
            if (!verifier) revert VerifierStakingExitPending(msg.sender, account.exitAt);
            _endExit(msg.sender, account);
            emit VerifierExitCancelled(msg.sender);
            return;
        }
        if (account.verifier == verifier) revert VerifierStakingVerifierStatusUnchanged(msg.sender, verifier);
        if (verifier) {
            uint256 free = account.active - account.locked;
            if (free < _minVerifierStake) revert VerifierStakingInsufficientStake(msg.sender, free, _minVerifierStake);
            account.verifier = true;
            _verifiers.set(msg.sender, free);
        } else if (_verifiers.weightOf(msg.sender) == 0) {
            // Not in the draw: nothing to give notice of. It may have been until a slash took it out, so its
            // stake waits for the committees seated until now.
            account.verifier = false;
            account.drawableUntil = uint48(block.timestamp);
        } else {
            uint256 exitAt = block.timestamp + _longestDisputeWindow();
            account.leaving = true;
            account.exitAt = exitAt.toUint48();
            ++_verifiers.marked;
            emit VerifierExitRequested(msg.sender, exitAt);
            return;
        }
        emit VerifierStatusChanged(msg.sender, verifier);
    }

    /// @inheritdoc IVerifierStaking
    function completeExit(address account) external {
        Account storage stakeAccount = _accounts[account];
        if (!stakeAccount.leaving) revert VerifierStakingNoExitPending(account);
        uint256 exitAt = stakeAccount.exitAt;
        if (block.timestamp < exitAt) revert VerifierStakingExitPending(account, exitAt);
        _endExit(account, stakeAccount);
        stakeAccount.verifier = false;
        stakeAccount.drawableUntil = uint48(block.timestamp);
        _verifiers.set(account, 0);
        emit VerifierStatusChanged(account, false);
    }

    /// @inheritdoc IVerifierStaking
    function lock(address account, uint256 amount) external onlyRole(ESCROW_ROLE) {
        Account storage stakeAccount = _accounts[account];
        uint256 free = stakeAccount.active - stakeAccount.locked;
        if (amount > free) revert VerifierStakingInsufficientStake(account, free, amount);
        // amount <= free, so locked + amount <= active < 2^96.
        stakeAccount.locked += uint96(amount);
        _syncWeight(account, stakeAccount, true);
        emit StakeLocked(account, amount);
    }

    /// @inheritdoc IVerifierStaking
    function unlock(address account, uint256 amount) external onlyRole(ESCROW_ROLE) {
        Account storage stakeAccount = _accounts[account];
        uint256 released = _release(stakeAccount, amount);
        _syncWeight(account, stakeAccount, false);
        emit StakeUnlocked(account, released);
    }

    /// @inheritdoc IVerifierStaking
    function slash(
        address account,
        uint256 unlockAmount,
        uint256 amount,
        address recipient
    ) external onlyRole(ESCROW_ROLE) nonReentrant returns (uint256 slashed) {
        if (recipient == address(0)) revert VerifierStakingZeroAddress();
        Account storage stakeAccount = _accounts[account];
        if (unlockAmount != 0) emit StakeUnlocked(account, _release(stakeAccount, unlockAmount));

        // Free stake first, then unbonding stake, then stake locked for other jobs.
        uint256 active = stakeAccount.active;
        uint256 locked = stakeAccount.locked;
        uint256 fromFree = Math.min(amount, active - locked);
        // The unbonding word is read only when free stake does not cover the slash.
        uint256 fromUnbonding = amount == fromFree ? 0 : Math.min(amount - fromFree, stakeAccount.unbonding);
        uint256 fromLocked = Math.min(amount - fromFree - fromUnbonding, locked);
        slashed = fromFree + fromUnbonding + fromLocked;
        // Each part is bounded by the field it is taken from, so none of these underflows.
        stakeAccount.active = uint96(active - fromFree - fromLocked);
        stakeAccount.locked = uint96(locked - fromLocked);
        if (fromUnbonding != 0) stakeAccount.unbonding -= uint96(fromUnbonding);
        _syncWeight(account, stakeAccount, false);

        if (slashed != 0) {
            // The total includes this account's stake, of which `slashed` is part, so it cannot underflow;
            // slashed <= active + unbonding < 2^97.
            unchecked {
                _totalStake -= uint160(slashed);
            }
            TOKEN.safeTransfer(recipient, slashed);
            emit StakeSlashed(account, recipient, slashed);
        }
    }

    /// @inheritdoc IVerifierStaking
    function setUnbondingPeriod(uint256 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (period < MIN_UNBONDING_PERIOD || period > MAX_UNBONDING_PERIOD) {
            revert VerifierStakingInvalidParam("unbondingPeriod", period, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
        }
        uint256 window = _longestDisputeWindow();
        if (window > period) revert VerifierStakingUnbondingShorterThanDisputeWindow(period, window);
        emit UnbondingPeriodUpdated(_unbondingPeriod, period);
        _unbondingPeriod = period;
    }

    /// @inheritdoc IVerifierStaking
    function setMinVerifierStake(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinVerifierStake(amount);
    }

    /// @inheritdoc IVerifierStaking
    function announceEscrow(address escrow) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (escrow == address(0)) revert VerifierStakingZeroAddress();
        if (escrow.code.length == 0) revert VerifierStakingEscrowWithoutCode(escrow);
        uint256 period = _unbondingPeriod;
        bytes32 codeHash = escrow.codehash;
        _escrowNotices[escrow] = EscrowNotice({
            announcedAt: uint64(block.timestamp),
            unbondingPeriod: uint64(period), // at most MAX_UNBONDING_PERIOD
            codeHash: codeHash
        });
        uint256 readyAt = block.timestamp + period + _longestDisputeWindow() + ESCROW_NOTICE_MARGIN;
        emit EscrowAnnounced(escrow, codeHash, readyAt, readyAt + ESCROW_NOTICE_VALIDITY);
    }

    /// @inheritdoc IVerifierStaking
    function token() external view returns (IERC20) {
        return TOKEN;
    }

    /// @inheritdoc IVerifierStaking
    function drawCommittee(
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) external view returns (address[] memory committee) {
        (committee, ) = _drawLeaves(seed, size, excluded);
    }

    /// @inheritdoc IVerifierStaking
    function drawCommitteeLeaves(
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) external view returns (address[] memory committee, uint256[] memory leaves) {
        return _drawLeaves(seed, size, excluded);
    }

    /// @inheritdoc IVerifierStaking
    function seatCommittee(
        uint256 seed,
        uint256 size,
        address[] calldata excluded,
        uint256 voteEnd
    ) external onlyRole(ESCROW_ROLE) returns (address[] memory committee, uint256[] memory leaves) {
        // A vote ending in the past would land on a day a withdrawal may already have found settled.
        if (voteEnd < block.timestamp || voteEnd > type(uint48).max) {
            revert VerifierStakingInvalidParam("voteEnd", voteEnd, block.timestamp, type(uint48).max);
        }
        (committee, leaves) = _drawLeaves(seed, size, excluded);
        // At most one committee per job and far fewer than 2^128 jobs: the count cannot overflow.
        unchecked {
            ++_committeeDays[voteEnd / 1 days].seated;
        }
    }

    /// @inheritdoc IVerifierStaking
    function committeeSettled(uint256 voteEnd) external onlyRole(ESCROW_ROLE) {
        uint256 day = voteEnd / 1 days;
        CommitteeDay storage counts = _committeeDays[day];
        if (counts.settled >= counts.seated) revert VerifierStakingNoOpenCommittee(day);
        // settled < seated < 2^128.
        unchecked {
            ++counts.settled;
        }
    }

    /// @inheritdoc IVerifierStaking
    function openCommittees(uint256 day) external view returns (uint256) {
        CommitteeDay storage counts = _committeeDays[day];
        return counts.seated - counts.settled;
    }

    /// @inheritdoc IVerifierStaking
    function unsettledCommitteesFor(address account) external view returns (uint256 day, uint256 open) {
        uint256 drawableUntil = _accounts[account].drawableUntil;
        if (drawableUntil != 0) (day, open, ) = _unsettledCommittees(drawableUntil);
    }

    /// @inheritdoc IVerifierStaking
    function verifierAtLeaf(uint256 leaf) external view returns (address) {
        return _verifiers.accountAt(leaf);
    }

    /// @inheritdoc IVerifierStaking
    function verifiersAtLeaves(uint256[] calldata leaves) external view returns (address[] memory verifiers) {
        verifiers = new address[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) verifiers[i] = _verifiers.accountAt(leaves[i]);
    }

    /// @dev The draw of `drawCommittee`: the verifiers and their leaves in the sum tree.
    function _drawLeaves(
        uint256 seed,
        uint256 size,
        address[] calldata excluded
    ) private view returns (address[] memory committee, uint256[] memory leaves) {
        if (size == 0 || size > MAX_COMMITTEE_SIZE) revert VerifierStakingInvalidCommitteeSize(size);
        uint256 eligible;
        (leaves, eligible) = _verifiers.draw(seed, size, excluded);
        if (eligible < size) revert VerifierStakingInsufficientVerifiers(eligible, size);
        committee = new address[](size);
        for (uint256 i; i < size; ++i) committee[i] = _verifiers.accountAt(leaves[i]);
    }

    /// @inheritdoc IVerifierStaking
    function escrowReadyAt(address escrow) external view returns (uint256) {
        return _readyAt(_escrowNotices[escrow]);
    }

    /// @inheritdoc IVerifierStaking
    function escrowNoticeExpiresAt(address escrow) external view returns (uint256) {
        uint256 readyAt = _readyAt(_escrowNotices[escrow]);
        return readyAt == 0 ? 0 : readyAt + ESCROW_NOTICE_VALIDITY;
    }

    /// @inheritdoc IVerifierStaking
    function accountOf(address account) external view returns (Account memory) {
        return _accounts[account];
    }

    /// @inheritdoc IVerifierStaking
    function freeStakeOf(address account) external view returns (uint256) {
        Account storage stakeAccount = _accounts[account];
        return stakeAccount.active - stakeAccount.locked;
    }

    /// @inheritdoc IVerifierStaking
    function verifierWeightOf(address account) external view returns (uint256) {
        return _verifiers.weightOf(account);
    }

    /// @inheritdoc IVerifierStaking
    function totalStake() external view returns (uint256) {
        return _totalStake;
    }

    /// @inheritdoc IVerifierStaking
    function totalVerifierWeight() external view returns (uint256) {
        return _verifiers.total();
    }

    /// @inheritdoc IVerifierStaking
    function eligibleVerifierCount() external view returns (uint256) {
        return _verifiers.nonZeroLeaves;
    }

    /// @inheritdoc IVerifierStaking
    function eligibleVerifiersExcluding(address[] calldata excluded) external view returns (uint256) {
        (, uint256 eligible) = _verifiers.draw(0, 0, excluded);
        uint256 leaving = _verifiers.marked;
        return eligible > leaving ? eligible - leaving : 0;
    }

    /// @inheritdoc IVerifierStaking
    function leavingVerifierCount() external view returns (uint256) {
        return _verifiers.marked;
    }

    /// @inheritdoc IVerifierStaking
    function exitNotice() external view returns (uint256) {
        return _longestDisputeWindow();
    }

    /// @inheritdoc IVerifierStaking
    function unbondingPeriod() external view returns (uint256) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IVerifierStaking
    function minVerifierStake() external view returns (uint256) {
        return _minVerifierStake;
    }

    /// @dev ESCROW_ROLE can slash anyone's stake, so granting it is the one governance act that could reach staked
    /// funds. While nothing is staked here (at deployment) it is granted at once: whether anything is staked is
    /// read from `_totalStake`, not from the token balance, which anyone can raise by a transfer to hold up the
    /// deployment's grant. Once anything is staked, only to the contract announced, with the code announced, in
    /// the validity window after the notice (`_checkEscrowNotice`). Granting it to an escrow whose dispute window
    /// outlasts the unbonding period would let a staker withdraw before a dispute over its work ends, and is
    /// refused too.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ESCROW_ROLE && !hasRole(role, account)) {
            if (_totalStake != 0) _checkEscrowNotice(account);
            uint256 window = _disputeWindowOf(account);
            if (window > _unbondingPeriod) {
                revert VerifierStakingUnbondingShorterThanDisputeWindow(_unbondingPeriod, window);
            }
        }
        return super._grantRole(role, account);
    }

    /// @dev An escrow keeps ESCROW_ROLE for good: taking it away would strand the stake locked for its jobs and
    /// stop their settlement.
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ESCROW_ROLE && hasRole(role, account)) revert VerifierStakingEscrowPermanent(account);
        return super._revokeRole(role, account);
    }

    function _setMinVerifierStake(uint256 amount) private {
        if (amount > MAX_MIN_VERIFIER_STAKE) {
            revert VerifierStakingInvalidParam("minVerifierStake", amount, 0, MAX_MIN_VERIFIER_STAKE);
        }
        emit MinVerifierStakeUpdated(_minVerifierStake, amount);
        _minVerifierStake = uint96(amount); // amount <= MAX_MIN_VERIFIER_STAKE < 2^96
    }

    /// @dev The escrow was announced; its notice has run out (every staker who distrusts it had time to withdraw)
    /// and has not expired (whoever staked since had a bounded time to see it); and its code is still the code
    /// announced, so the notice was about the contract that gets the role.
    function _checkEscrowNotice(address escrow) private view {
        EscrowNotice storage notice = _escrowNotices[escrow];
        uint256 readyAt = _readyAt(notice);
        if (readyAt == 0) revert VerifierStakingEscrowNotAnnounced(escrow);
        if (block.timestamp < readyAt) revert VerifierStakingEscrowNoticePending(escrow, readyAt);
        uint256 expiresAt = readyAt + ESCROW_NOTICE_VALIDITY;
        if (block.timestamp >= expiresAt) revert VerifierStakingEscrowNoticeExpired(escrow, expiresAt);
        bytes32 announced = notice.codeHash;
        bytes32 current = escrow.codehash;
        if (current != announced) revert VerifierStakingEscrowCodeChanged(escrow, announced, current);
    }

    /// @dev When an escrow's notice runs out; zero when it was never announced.
    function _readyAt(EscrowNotice storage notice) private view returns (uint256) {
        uint256 announcedAt = notice.announcedAt;
        if (announcedAt == 0) return 0;
        return
            announcedAt +
            Math.max(notice.unbondingPeriod, _unbondingPeriod) +
            _longestDisputeWindow() +
            ESCROW_NOTICE_MARGIN;
    }

    /// @dev Releases up to `amount` of locked stake; a slash may already have taken part of it.
    function _release(Account storage account, uint256 amount) private returns (uint256 released) {
        uint256 locked = account.locked;
        released = Math.min(amount, locked);
        // released <= locked.
        account.locked = uint96(locked - released);
    }

    /// @dev Keeps a verifier's draw weight equal to its free stake while that is at least the verifier minimum,
    /// and zero below it: a verifier cannot stay drawable after unstaking down to dust it could lose. A `voluntary`
    /// change (the account's own stake or unstake, or collateral it locks by claiming a job) may not take it out of
    /// the draw: that takes notice (`setVerifier(false)`). A slash or a release may, and the count of leaving
    /// verifiers in the draw follows a leaving verifier's weight in and out of zero.
    function _syncWeight(address account, Account storage stakeAccount, bool voluntary) private {
        if (!stakeAccount.verifier) return;
        uint256 free = stakeAccount.active - stakeAccount.locked;
        uint256 minimum = _minVerifierStake;
        uint256 weight = free < minimum ? 0 : free;
        bool leaving = stakeAccount.leaving;
        // Whether the account was in the draw matters only for a leaving verifier or a voluntary drop to zero.
        if (leaving || (voluntary && weight == 0)) {
            bool drawn = _verifiers.weightOf(account) != 0;
            if (drawn && weight == 0) {
                if (voluntary) revert VerifierStakingExitNoticeRequired(account, free, minimum);
                --_verifiers.marked; // a leaving verifier slashed out of the draw
            } else if (!drawn && weight != 0) {
                ++_verifiers.marked; // a leaving verifier back in the draw
            }
        }
        _verifiers.set(account, weight);
    }

    /// @dev The first day with `open` unsettled committees that stake drawable until `drawableUntil` could sit on
    /// ((0, 0, ·) when there is none), and how far `_settledBefore` can move. A committee seated by then has its
    /// vote end within the longest dispute window after it (an escrow's window never shrinks), so the days up to
    /// that one are checked, from the first not yet known to be settled. The pointer never passes today, which can
    /// still get committees.
    function _unsettledCommittees(
        uint256 drawableUntil
    ) private view returns (uint256 day, uint256 open, uint256 settledBefore) {
        uint256 lastDay = (drawableUntil + _longestDisputeWindow()) / 1 days;
        for (day = _settledBefore; day <= lastDay; ++day) {
            CommitteeDay storage counts = _committeeDays[day];
            open = counts.seated - counts.settled;
            if (open != 0) return (day, open, 0);
        }
        settledBefore = Math.min(day, block.timestamp / 1 days);
        day = 0;
    }

    /// @dev Clears `account`'s exit, and its place in the count of leaving verifiers in the draw.
    function _endExit(address account, Account storage stakeAccount) private {
        if (_verifiers.weightOf(account) != 0) --_verifiers.marked;
        stakeAccount.leaving = false;
        stakeAccount.exitAt = 0;
    }

    /// @dev The longest dispute window of the escrows holding ESCROW_ROLE (`_disputeWindowOf`).
    function _longestDisputeWindow() private view returns (uint256 longest) {
        uint256 escrows = getRoleMemberCount(ESCROW_ROLE);
        for (uint256 i; i < escrows; ++i) {
            longest = Math.max(longest, _disputeWindowOf(getRoleMember(ESCROW_ROLE, i)));
        }
    }

    /// @dev The dispute window an escrow reports; zero for an account that does not report one (an EOA
    /// operated by governance in tests or emergencies).
    function _disputeWindowOf(address escrow) private view returns (uint256) {
        (bool ok, bytes memory data) = escrow.staticcall(abi.encodeCall(IDisputeWindowSource.maxDisputeWindow, ()));
        return ok && data.length == 32 ? abi.decode(data, (uint256)) : 0;
    }
}
