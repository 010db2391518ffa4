// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";

/// @title ExampleConsumer
/// @notice A minimal contract that buys inferences and keeps their verified outputs: copy it and replace
/// `_useResult` with what your protocol does with a result.
/// @dev Shows what an integrator must get right:
/// - the request passes through the terms its user agreed to, so the model owner cannot change them under it;
/// - only the escrow may call the callback, which stays cheap and cannot revert on a valid call;
/// - a result whose callback failed can still be recorded later, by anyone, from the escrow's state;
/// - the escrow credits refunds and compensation to this contract, not to its users: it withdraws them and
///   hands each user back the fee of every job of theirs that was not accepted; compensation beyond the fees
///   goes to the owner, who decides what to do with it.
contract ExampleConsumer is IInferenceConsumer, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice A job this contract asked for and what became of it.
    struct Request {
        address requestedBy;
        uint96 fee; // what `requestedBy` paid, refunded to it unless the job is accepted
        bool done;
        IJobEscrow.JobOutcome outcome; // Accepted, or how the job failed (Rejected, or Expired for any refund)
        bytes output;
    }

    IJobEscrow public immutable ESCROW;
    IERC20 public immutable TOKEN;

    mapping(uint256 jobId => Request) private _requests;
    mapping(address requester => uint256 amount) private _refunds;
    /// @dev Sum of `_refunds`: what this contract owes its users.
    uint256 private _owed;

    event InferenceRequested(uint256 indexed jobId, address indexed requestedBy);
    event InferenceReceived(uint256 indexed jobId, IJobEscrow.JobOutcome outcome, bytes output);
    event RefundCredited(uint256 indexed jobId, address indexed requestedBy, uint256 amount);
    event RefundClaimed(address indexed requestedBy, uint256 amount);
    event SurplusSwept(address indexed to, uint256 amount);

    error ExampleConsumerNotEscrow(address caller);
    error ExampleConsumerUnknownJob(uint256 jobId);
    error ExampleConsumerAlreadyDone(uint256 jobId);
    error ExampleConsumerNotSettled(uint256 jobId, IJobEscrow.JobStatus status);
    error ExampleConsumerNotRefunded(uint256 jobId, IJobEscrow.JobStatus status);
    error ExampleConsumerOutputMismatch(uint256 jobId);
    error ExampleConsumerNothingToClaim(address account);

    constructor(IJobEscrow escrow_, address owner_) Ownable(owner_) {
        ESCROW = escrow_;
        TOKEN = escrow_.token();
    }

    /// @notice Pays (from the caller) `agreed.terms.price` for an inference on `modelId` under the terms the
    /// caller agreed to (read them with `IModelRegistry.jobTerms`), and asks for the result by callback.
    function requestInference(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes calldata input,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 jobId) {
        uint256 fee = agreed.terms.price;
        TOKEN.safeTransferFrom(msg.sender, address(this), fee);
        TOKEN.forceApprove(address(ESCROW), fee);
        jobId = ESCROW.requestInference(modelId, agreed, input, deadline, callbackGasLimit);
        Request storage request = _requests[jobId];
        request.requestedBy = msg.sender;
        request.fee = agreed.terms.price;
        emit InferenceRequested(jobId, msg.sender);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) external {
        if (msg.sender != address(ESCROW)) revert ExampleConsumerNotEscrow(msg.sender);
        _record(jobId, outcome, output);
    }

    /// @notice Accepts the output of a settled job whose callback failed (or ran out of gas); anyone may call
    /// with the bytes from the `ResultSubmitted` event.
    function acceptOutput(uint256 jobId, bytes calldata output) external {
        IJobEscrow.JobState memory state = ESCROW.jobState(jobId);
        if (state.status != IJobEscrow.JobStatus.Settled) revert ExampleConsumerNotSettled(jobId, state.status);
        if (keccak256(output) != ESCROW.outputHash(jobId)) revert ExampleConsumerOutputMismatch(jobId);
        _record(jobId, IJobEscrow.JobOutcome.Accepted, output);
    }

    /// @notice Records a job that ended without an accepted output (Rejected or Refunded) whose callback failed,
    /// crediting its fee back to its requester; anyone may call.
    function recordRefund(uint256 jobId) external {
        IJobEscrow.JobStatus status = ESCROW.jobState(jobId).status;
        IJobEscrow.JobOutcome outcome;
        if (status == IJobEscrow.JobStatus.Rejected) outcome = IJobEscrow.JobOutcome.Rejected;
        else if (status == IJobEscrow.JobStatus.Refunded) outcome = IJobEscrow.JobOutcome.Expired;
        else revert ExampleConsumerNotRefunded(jobId, status);
        _record(jobId, outcome, "");
    }

    /// @notice Pays the caller the fees of its jobs that were not accepted, withdrawing from the escrow first
    /// when this contract does not hold enough.
    function claimRefund() external returns (uint256 amount) {
        amount = _refunds[msg.sender];
        if (amount == 0) revert ExampleConsumerNothingToClaim(msg.sender);
        _refunds[msg.sender] = 0;
        _owed -= amount;
        if (TOKEN.balanceOf(address(this)) < amount) ESCROW.withdraw();
        TOKEN.safeTransfer(msg.sender, amount);
        emit RefundClaimed(msg.sender, amount);
    }

    /// @notice Sends `to` everything this contract holds or is credited in the escrow beyond what it owes its
    /// users (the compensation the escrow paid on top of refunded fees). Only the owner.
    function sweepSurplus(address to) external onlyOwner returns (uint256 amount) {
        if (ESCROW.balanceOf(address(this)) != 0) ESCROW.withdraw();
        amount = TOKEN.balanceOf(address(this)) - _owed;
        if (amount == 0) revert ExampleConsumerNothingToClaim(address(this));
        TOKEN.safeTransfer(to, amount);
        emit SurplusSwept(to, amount);
    }

    /// @notice What became of a job.
    function requestOf(uint256 jobId) external view returns (Request memory) {
        return _requests[jobId];
    }

    /// @notice The fees `requester` can claim back with `claimRefund`.
    function refundOf(address requester) external view returns (uint256) {
        return _refunds[requester];
    }

    function _record(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes memory output) private {
        Request storage request = _requests[jobId];
        address requestedBy = request.requestedBy;
        if (requestedBy == address(0)) revert ExampleConsumerUnknownJob(jobId);
        if (request.done) revert ExampleConsumerAlreadyDone(jobId);
        request.done = true;
        request.outcome = outcome;
        request.output = output;
        emit InferenceReceived(jobId, outcome, output);
        if (outcome != IJobEscrow.JobOutcome.Accepted) {
            uint256 fee = request.fee;
            _refunds[requestedBy] += fee;
            _owed += fee;
            emit RefundCredited(jobId, requestedBy, fee);
        }
        _useResult(jobId, outcome, output);
    }

    /// @dev Where an integrating protocol acts on a result.
    function _useResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes memory output) internal virtual {
        // solhint-disable-previous-line no-empty-blocks
    }
}
