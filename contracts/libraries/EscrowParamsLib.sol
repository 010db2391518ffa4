// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {ProtocolBounds} from "./ProtocolBounds.sol";

/// @title EscrowParamsLib
/// @notice The hard bounds of JobEscrow's governance parameters, the check that enforces them, and the storage of
/// their versions.
/// @dev Deployed once and linked into JobEscrow (`store` is public, run by DELEGATECALL on the escrow's storage):
/// setting parameters is a governance act, so its checks need not be in the escrow's code, and keeping them out
/// keeps the escrow under the 24 KiB size limit. The escrow reads versions, and single fields of them on its hot
/// paths, directly from the same mapping.
library EscrowParamsLib {
    /// @notice Largest protocol fee: 10% of the job fee.
    uint256 internal constant MAX_PROTOCOL_FEE_BPS = 1000;
    /// @notice Largest verifier share: 30% of the job fee.
    uint256 internal constant MAX_VERIFIER_SHARE_BPS = 3000;
    /// @notice Collateral ratio bounds: 1x to 5x the fee.
    uint256 internal constant MIN_COLLATERAL_RATIO_BPS = BPS;
    uint256 internal constant MAX_COLLATERAL_RATIO_BPS = 50_000;
    /// @notice Share of collateral slashed from an abandoned claim: 5% to 100%.
    uint256 internal constant MIN_TIMEOUT_SLASH_BPS = 500;
    /// @notice Share of every slash or forfeited bond that goes to the treasury and never to participants, so an
    /// operator who accuses itself through a second identity always loses money.
    uint256 internal constant MIN_TREASURY_SLASH_BPS = 1000;
    /// @notice Window bounds (submission, challenge, commit, reveal).
    uint256 internal constant MIN_WINDOW = 10 seconds;
    uint256 internal constant MAX_WINDOW = 7 days;
    /// @notice Bounds of the furthest deadline a request may set.
    uint256 internal constant MIN_JOB_DURATION = 1 minutes;
    uint256 internal constant MAX_JOB_DURATION = 90 days;
    /// @notice Bound of every token amount parameter (fees, collateral floor, penalty, bond).
    uint256 internal constant MAX_AMOUNT = 1e27;
    /// @notice Bounds of the input and output size limits, in bytes.
    uint256 internal constant MIN_DATA_BYTES = 256;
    uint256 internal constant MAX_DATA_BYTES = 128 * 1024;
    /// @notice Largest callback gas limit governance may allow.
    uint256 internal constant MAX_CALLBACK_GAS = 5_000_000;

    uint256 private constant BPS = ProtocolBounds.BPS;

    /// @notice Reverts with `JobEscrowInvalidParam(name, value, min, max)` for the first parameter out of its
    /// bounds, and with `JobEscrowDisputeWindowExceedsUnbonding` when the dispute window
    /// (`disputeWindow`) outlasts `unbondingPeriod`.
    function check(IJobEscrow.EscrowParams memory p, uint256 unbondingPeriod) public pure {
        _checkRange("protocolFeeBps", p.protocolFeeBps, 0, MAX_PROTOCOL_FEE_BPS);
        _checkRange("verifierShareBps", p.verifierShareBps, 0, MAX_VERIFIER_SHARE_BPS);
        _checkRange("collateralRatioBps", p.collateralRatioBps, MIN_COLLATERAL_RATIO_BPS, MAX_COLLATERAL_RATIO_BPS);
        _checkRange("timeoutSlashBps", p.timeoutSlashBps, MIN_TIMEOUT_SLASH_BPS, BPS);
        _checkRange("compensationBps", p.compensationBps, 0, BPS - MIN_TREASURY_SLASH_BPS);
        _checkRange("verifierRewardBps", p.verifierRewardBps, 0, BPS - MIN_TREASURY_SLASH_BPS - p.compensationBps);
        _checkRange("submissionWindow", p.submissionWindow, MIN_WINDOW, MAX_WINDOW);
        _checkRange("challengeWindow", p.challengeWindow, MIN_WINDOW, MAX_WINDOW);
        _checkRange("commitWindow", p.commitWindow, MIN_WINDOW, MAX_WINDOW);
        _checkRange("revealWindow", p.revealWindow, MIN_WINDOW, MAX_WINDOW);
        _checkRange("maxJobDuration", p.maxJobDuration, MIN_JOB_DURATION, MAX_JOB_DURATION);
        _checkRange("minFee", p.minFee, 0, MAX_AMOUNT);
        _checkRange("minCollateral", p.minCollateral, 0, MAX_AMOUNT);
        _checkRange("maxInputBytes", p.maxInputBytes, MIN_DATA_BYTES, MAX_DATA_BYTES);
        _checkRange("maxOutputBytes", p.maxOutputBytes, MIN_DATA_BYTES, MAX_DATA_BYTES);
        _checkRange("votePenalty", p.votePenalty, 0, MAX_AMOUNT);
        _checkRange("challengeBond", p.challengeBond, 1, MAX_AMOUNT);
        _checkRange("maxCallbackGasLimit", p.maxCallbackGasLimit, 0, MAX_CALLBACK_GAS);
        uint256 window = disputeWindow(p);
        if (window > unbondingPeriod) revert IJobEscrow.JobEscrowDisputeWindowExceedsUnbonding(window, unbondingPeriod);
    }

    /// @notice Checks `p` (see `check`), stores it as version `id` of `byId` and emits ParamsUpdated.
    /// @return window The dispute window of `p` (`disputeWindow`).
    function store(
        mapping(uint256 => IJobEscrow.EscrowParams) storage byId,
        uint256 id,
        IJobEscrow.EscrowParams memory p,
        uint256 unbondingPeriod
    ) public returns (uint256 window) {
        check(p, unbondingPeriod);
        byId[id] = p;
        emit IJobEscrow.ParamsUpdated(id, p);
        return disputeWindow(p);
    }

    /// @notice Longest time from a claim until its job can no longer be disputed: the submission, challenge, draw
    /// (as long as the commit window), commit and reveal windows.
    function disputeWindow(IJobEscrow.EscrowParams memory p) internal pure returns (uint256) {
        return uint256(p.submissionWindow) + p.challengeWindow + 2 * uint256(p.commitWindow) + p.revealWindow;
    }

    function _checkRange(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert IJobEscrow.JobEscrowInvalidParam(name, value, min, max);
    }
}
