// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {TensorReader} from "../libraries/TensorReader.sol";

/// @title ExampleConsumer
/// @notice A classifier's consumer: it buys inferences for its users, keeps each verified output and reads on
/// chain the class the model predicted, the index of the largest of `CLASS_COUNT` scores in the output tensor named
/// `scoresTensor()`. Copy it and replace `_usePrediction` with what your protocol does with a class.
/// @dev Shows what an integrator must get right:
/// - the request passes through the terms its user agreed to, so the model owner cannot change them under it;
/// - only the escrow may call the callback, which cannot revert on a valid call, whatever the output holds: an
///   output it cannot read (not TML1, no such tensor, the wrong type or number of scores, every score NaN) is
///   recorded with its prediction unavailable (`PredictionUnavailable`, with the reader's error), since a reverting
///   callback only ends in `CallbackDelivered(false)`. The reading runs in a self-call (`classify`) so that the
///   reader's named errors can be caught; only running out of gas is not caught, so that nobody can make a
///   readable output unavailable by sending too little gas: that callback fails, and `acceptOutput` reads it later;
/// - a result whose callback failed can still be recorded later, by anyone, from the escrow's state;
/// - the escrow credits refunds and compensation to this contract, not to its users: it hands each user back the
///   fee of every job of theirs that was not accepted (`claimRefund`), and the compensation beyond the fees goes to
///   the owner (`sweepSurplus`). The escrow may spend that credit on this contract's next request (a request takes
///   its fee from the requester's balance when it covers the fee): the user's tokens then stay here in its place,
///   so what this contract holds plus its credit is unchanged, and the accounting is kept against that sum
///   (`surplus`). A refund is owed from the callback that credits it; a job asked with too little callback gas to
///   record one keeps its fee reserved until it is recorded (`recordRefund`), so the owner never sweeps a user's fee.
///
/// Callback gas (test/ExampleConsumer.test.ts measures it): a 10-class float32 output (74 bytes) is recorded and
/// read with 131,500 gas, an int8 one (44 bytes) with 107,500; most of it stores the output, about 22,000 gas per 32
/// bytes. A refund is recorded with about 65,000. So ask for 200,000 for a small classifier's output, and never for
/// less than `REFUND_CALLBACK_GAS`, so that a refund is always recorded in the callback that credits it.
contract ExampleConsumer is IInferenceConsumer, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using ShortStrings for string;
    using ShortStrings for ShortString;
    using TensorReader for bytes;

    /// @notice A job this contract asked for and what became of it.
    struct Request {
        address requestedBy;
        uint96 fee; // what `requestedBy` paid, refunded to it unless the job is accepted
        bool done;
        IJobEscrow.JobOutcome outcome; // Accepted, or how the job failed (Rejected, or Expired for any refund)
        bool predicted; // Accepted and the output's scores read: `predictedClass` is the model's answer
        uint64 predictedClass; // index of the largest score, < CLASS_COUNT
        // Requested with less callback gas than REFUND_CALLBACK_GAS: a refund of it may be credited here before it
        // is recorded, so its fee is kept out of the surplus until it is.
        bool feeReserved;
        bytes output;
    }

    /// @notice The callback gas that always records a refund (outcome other than Accepted): a request asking for
    /// less keeps its fee out of `surplus` until the job is recorded.
    uint32 public constant REFUND_CALLBACK_GAS = 100_000;
    /// @notice The score types `classify` reads: every TML1 numeric type but bool.
    uint256 public constant SCORE_TYPES = TensorReader.NUMERIC_TYPES & ~(uint256(1) << TensorReader.BOOL);

    IJobEscrow public immutable ESCROW;
    IERC20 public immutable TOKEN;
    /// @notice How many scores the output tensor holds: one per class, classes numbered from 0.
    uint256 public immutable CLASS_COUNT;
    ShortString private immutable _SCORES_TENSOR;

    /// @dev `_SCORES_TENSOR`'s storage when the name is 32 bytes or longer.
    string private _scoresTensorFallback;
    mapping(uint256 jobId => Request) private _requests;
    mapping(address requester => uint256 amount) private _refunds;
    /// @dev Sum of `_refunds`: what this contract owes its users.
    uint256 private _owed;
    /// @dev Sum of the fees of jobs with `feeReserved` not yet recorded.
    uint256 private _reservedFees;

    event InferenceRequested(uint256 indexed jobId, address indexed requestedBy);
    event InferenceReceived(uint256 indexed jobId, IJobEscrow.JobOutcome outcome, bytes output);
    /// @notice Emitted after `InferenceReceived` when the accepted output's scores were read.
    event ClassPredicted(uint256 indexed jobId, address indexed requestedBy, uint256 predictedClass);
    /// @notice Emitted after `InferenceReceived` when the accepted output could not be read: `reason` is the revert
    /// data of `classify` (a TensorReader error, ExampleConsumerInvalidScoresType or
    /// ExampleConsumerClassCountMismatch).
    event PredictionUnavailable(uint256 indexed jobId, bytes reason);
    event RefundCredited(uint256 indexed jobId, address indexed requestedBy, uint256 amount);
    event RefundClaimed(address indexed requestedBy, uint256 amount);
    event SurplusSwept(address indexed to, uint256 amount);

    error ExampleConsumerInvalidClassifier(string scoresTensor, uint256 classCount);
    error ExampleConsumerNotEscrow(address caller);
    error ExampleConsumerUnknownJob(uint256 jobId);
    error ExampleConsumerAlreadyDone(uint256 jobId);
    error ExampleConsumerNotSettled(uint256 jobId, IJobEscrow.JobStatus status);
    error ExampleConsumerNotRefunded(uint256 jobId, IJobEscrow.JobStatus status);
    error ExampleConsumerOutputMismatch(uint256 jobId);
    error ExampleConsumerNothingToClaim(address account);
    /// @notice The scores tensor's type is not one of SCORE_TYPES.
    error ExampleConsumerInvalidScoresType(uint8 typeCode);
    /// @notice The scores tensor holds `elementCount` elements, not one per class.
    error ExampleConsumerClassCountMismatch(uint256 elementCount, uint256 classCount);
    /// @notice Reading the output ran out of gas: send more (the callback's limit was too low for this output; anyone
    /// can then `acceptOutput` it with enough gas).
    error ExampleConsumerOutOfGas(uint256 jobId);

    /// @param scoresTensor_ The name of the output tensor that holds the class scores (logits or probabilities).
    /// @param classCount_ How many scores it holds.
    constructor(IJobEscrow escrow_, address owner_, string memory scoresTensor_, uint256 classCount_) Ownable(owner_) {
        if (bytes(scoresTensor_).length == 0 || classCount_ == 0) {
            revert ExampleConsumerInvalidClassifier(scoresTensor_, classCount_);
        }
        ESCROW = escrow_;
        TOKEN = escrow_.token();
        CLASS_COUNT = classCount_;
        _SCORES_TENSOR = scoresTensor_.toShortStringWithFallback(_scoresTensorFallback);
    }

    /// @notice Pays (from the caller) `agreed.terms.price` for an inference on `modelId` under the terms the
    /// caller agreed to (read them with `IModelRegistry.jobTerms`), and asks for the result by callback with
    /// `callbackGasLimit` gas (see the contract's notes for what to ask).
    /// @dev The escrow takes the fee from this contract's credit there when it covers the fee (refunds not yet
    /// withdrawn, the owner's deposits) and otherwise pulls it: only then is it given an allowance.
    function requestInference(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes calldata input,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external nonReentrant returns (uint256 jobId) {
        uint96 fee = agreed.terms.price;
        TOKEN.safeTransferFrom(msg.sender, address(this), fee);
        if (ESCROW.balanceOf(address(this)) < fee) TOKEN.forceApprove(address(ESCROW), fee);
        jobId = ESCROW.requestInference(modelId, agreed, input, deadline, callbackGasLimit);
        Request storage request = _requests[jobId];
        request.requestedBy = msg.sender;
        request.fee = fee;
        if (callbackGasLimit < REFUND_CALLBACK_GAS) {
            request.feeReserved = true;
            _reservedFees += fee;
        }
        emit InferenceRequested(jobId, msg.sender);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) external {
        if (msg.sender != address(ESCROW)) revert ExampleConsumerNotEscrow(msg.sender);
        _record(jobId, outcome, output);
    }

    /// @notice Accepts the output of a settled job whose callback failed (or ran out of gas), and reads its
    /// prediction as the callback would have; anyone may call with the bytes from the `ResultSubmitted` event.
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
    function claimRefund() external nonReentrant returns (uint256 amount) {
        amount = _refunds[msg.sender];
        if (amount == 0) revert ExampleConsumerNothingToClaim(msg.sender);
        _refunds[msg.sender] = 0;
        _owed -= amount;
        if (TOKEN.balanceOf(address(this)) < amount) ESCROW.withdraw();
        TOKEN.safeTransfer(msg.sender, amount);
        emit RefundClaimed(msg.sender, amount);
    }

    /// @notice Pays `amount` of the owner's tokens into this contract's balance in the escrow, which its requests
    /// then draw their fees from (no allowance, no transfer into the escrow); the users' fees stay here in its place
    /// and come back to the owner through `sweepSurplus`. Only the owner.
    function depositToEscrow(uint256 amount) external onlyOwner nonReentrant {
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        TOKEN.forceApprove(address(ESCROW), amount);
        ESCROW.deposit(amount);
    }

    /// @notice Sends `to` the surplus (see `surplus`), withdrawing from the escrow first when this contract does
    /// not hold enough. Only the owner.
    function sweepSurplus(address to) external onlyOwner nonReentrant returns (uint256 amount) {
        amount = surplus();
        if (amount == 0) revert ExampleConsumerNothingToClaim(address(this));
        if (TOKEN.balanceOf(address(this)) < amount) ESCROW.withdraw();
        TOKEN.safeTransfer(to, amount);
        emit SurplusSwept(to, amount);
    }

    /// @notice The class the model predicted in `output`: the index of the largest score (TensorReader.argmax:
    /// NaN never wins, ties go to the first) of the tensor named `scoresTensor()`, after checking the whole list
    /// (TensorReader.validate). Reverts with the reader's named errors, ExampleConsumerInvalidScoresType or
    /// ExampleConsumerClassCountMismatch when it cannot say.
    /// @dev External so that `_record` can catch its errors (`try this.classify`); anyone may call it to see what
    /// an output would give.
    function classify(bytes calldata output) external view returns (uint256 predictedClass) {
        bytes memory list = output;
        list.validate();
        TensorReader.Tensor memory scores = list.find(scoresTensor());
        if ((SCORE_TYPES >> scores.typeCode) & 1 == 0) revert ExampleConsumerInvalidScoresType(scores.typeCode);
        if (scores.elementCount != CLASS_COUNT)
            revert ExampleConsumerClassCountMismatch(scores.elementCount, CLASS_COUNT);
        return list.argmax(scores);
    }

    /// @notice What became of a job.
    function requestOf(uint256 jobId) external view returns (Request memory) {
        return _requests[jobId];
    }

    /// @notice Whether a job's accepted output gave a prediction, and the predicted class (0 when it did not: the
    /// job is not done, was not accepted, or its output could not be read).
    function predictionOf(uint256 jobId) external view returns (bool predicted, uint256 predictedClass) {
        Request storage request = _requests[jobId];
        return (request.predicted, request.predictedClass);
    }

    /// @notice The fees `requester` can claim back with `claimRefund`.
    function refundOf(address requester) external view returns (uint256) {
        return _refunds[requester];
    }

    /// @notice What the owner can sweep: everything this contract holds or is credited in the escrow beyond what
    /// it owes its users and the fees it reserves (jobs requested with less than REFUND_CALLBACK_GAS, not yet
    /// recorded). That is the compensation the escrow paid on top of refunded fees, and the owner's deposits.
    function surplus() public view returns (uint256) {
        uint256 assets = TOKEN.balanceOf(address(this)) + ESCROW.balanceOf(address(this));
        uint256 kept = _owed + _reservedFees;
        return assets > kept ? assets - kept : 0;
    }

    /// @notice The name of the output tensor whose scores `classify` reads.
    function scoresTensor() public view returns (string memory) {
        return _SCORES_TENSOR.toStringWithFallback(_scoresTensorFallback);
    }

    /// @dev Where an integrating protocol acts on a prediction. It runs inside the escrow's callback: it must not
    /// revert (the callback would fail, and `acceptOutput` would run it again later) and its gas counts against the
    /// job's callback gas.
    function _usePrediction(uint256 jobId, address requestedBy, uint256 predictedClass) internal virtual {
        // solhint-disable-previous-line no-empty-blocks
    }

    function _record(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes memory output) private {
        Request storage request = _requests[jobId];
        address requestedBy = request.requestedBy;
        if (requestedBy == address(0)) revert ExampleConsumerUnknownJob(jobId);
        if (request.done) revert ExampleConsumerAlreadyDone(jobId);
        bool accepted = outcome == IJobEscrow.JobOutcome.Accepted;
        bool predicted;
        uint256 predictedClass;
        bytes memory reason;
        if (accepted) (predicted, predictedClass, reason) = _classify(jobId, output);
        request.done = true;
        request.outcome = outcome;
        request.predicted = predicted;
        // predictedClass < CLASS_COUNT <= the output's length, far below 2^64.
        request.predictedClass = uint64(predictedClass);
        request.output = output;
        if (request.feeReserved) _reservedFees -= request.fee;
        emit InferenceReceived(jobId, outcome, output);
        if (predicted) {
            emit ClassPredicted(jobId, requestedBy, predictedClass);
            _usePrediction(jobId, requestedBy, predictedClass);
        } else if (accepted) {
            emit PredictionUnavailable(jobId, reason);
        } else {
            uint256 fee = request.fee;
            _refunds[requestedBy] += fee;
            _owed += fee;
            emit RefundCredited(jobId, requestedBy, fee);
        }
    }

    /// @dev `classify(output)`, or the revert data that says why it cannot. Running out of gas (a revert without
    /// data: every error `classify` can raise has a selector) is not an answer about the output but about the gas
    /// sent, so it reverts instead of recording the prediction as unavailable.
    function _classify(
        uint256 jobId,
        bytes memory output
    ) private view returns (bool predicted, uint256 predictedClass, bytes memory reason) {
        try this.classify(output) returns (uint256 class_) {
            return (true, class_, "");
        } catch (bytes memory revertData) {
            if (revertData.length == 0) revert ExampleConsumerOutOfGas(jobId);
            return (false, 0, revertData);
        }
    }
}
