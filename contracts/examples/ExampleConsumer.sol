// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";

/// @title ExampleConsumer
/// @notice A minimal contract that buys inferences and keeps their verified outputs: copy it and replace
/// `_useResult` with what your protocol does with a result.
/// @dev Shows the three things an integrator must get right: only the escrow may call the callback; the callback
/// stays cheap and cannot revert on a valid call; and a result whose callback failed can still be accepted
/// later, from anyone, after checking it against the escrow's output hash.
contract ExampleConsumer is IInferenceConsumer {
    using SafeERC20 for IERC20;

    /// @notice A job this contract asked for and what became of it.
    struct Request {
        address requestedBy;
        bool done;
        IJobEscrow.JobOutcome outcome;
        bytes output;
    }

    IJobEscrow public immutable ESCROW;
    IERC20 public immutable TOKEN;

    mapping(uint256 jobId => Request) private _requests;

    event InferenceRequested(uint256 indexed jobId, address indexed requestedBy);
    event InferenceReceived(uint256 indexed jobId, IJobEscrow.JobOutcome outcome, bytes output);

    error ExampleConsumerNotEscrow(address caller);
    error ExampleConsumerUnknownJob(uint256 jobId);
    error ExampleConsumerAlreadyDone(uint256 jobId);
    error ExampleConsumerNotSettled(uint256 jobId, IJobEscrow.JobStatus status);
    error ExampleConsumerOutputMismatch(uint256 jobId);

    constructor(IJobEscrow escrow_) {
        ESCROW = escrow_;
        TOKEN = escrow_.token();
    }

    /// @notice Pays (from the caller) for an inference on `modelId` and asks for the result by callback.
    function requestInference(
        uint256 modelId,
        bytes calldata input,
        uint256 maxFee,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 jobId) {
        TOKEN.safeTransferFrom(msg.sender, address(this), maxFee);
        TOKEN.forceApprove(address(ESCROW), maxFee);
        uint256 before = TOKEN.balanceOf(address(this));
        jobId = ESCROW.requestInference(modelId, input, maxFee, deadline, callbackGasLimit);
        // Return whatever the model did not charge.
        uint256 unspent = maxFee - (before - TOKEN.balanceOf(address(this)));
        if (unspent != 0) TOKEN.safeTransfer(msg.sender, unspent);
        _requests[jobId].requestedBy = msg.sender;
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

    /// @notice What became of a job.
    function requestOf(uint256 jobId) external view returns (Request memory) {
        return _requests[jobId];
    }

    function _record(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) private {
        Request storage request = _requests[jobId];
        if (request.requestedBy == address(0)) revert ExampleConsumerUnknownJob(jobId);
        if (request.done) revert ExampleConsumerAlreadyDone(jobId);
        request.done = true;
        request.outcome = outcome;
        request.output = output;
        emit InferenceReceived(jobId, outcome, output);
        _useResult(jobId, outcome, output);
    }

    /// @dev Where an integrating protocol acts on a result. Refunds for failed jobs are credited to this
    /// contract in the escrow; a real integration would withdraw and return them to `requestedBy`.
    function _useResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) internal virtual {
        // solhint-disable-previous-line no-empty-blocks
    }
}
