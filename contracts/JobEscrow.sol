// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IJobEscrow} from "./interfaces/IJobEscrow.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IVerifierStaking, IDisputeWindowSource} from "./interfaces/IVerifierStaking.sol";
import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {CommitteeDrawLib} from "./libraries/CommitteeDrawLib.sol";
import {EscrowParamsLib} from "./libraries/EscrowParamsLib.sol";
import {JobTermsLib} from "./libraries/JobTermsLib.sol";
import {PackedCommittee} from "./libraries/PackedCommittee.sol";
import {ProtocolBounds} from "./libraries/ProtocolBounds.sol";
import {ProvenJudge} from "./libraries/ProvenJudge.sol";
import {SettlementMath} from "./libraries/SettlementMath.sol";
import {VoteWord, VoteWordLib} from "./libraries/VoteWord.sol";

/// @title JobEscrow
/// @notice Escrows inference fees, runs each job through claim, submission and verification, and settles it:
/// honest work is paid, proven fraud is slashed, and every other ending refunds the requester.
contract JobEscrow is IJobEscrow, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Largest input URI, in bytes.
    uint256 public constant MAX_URI_BYTES = ProtocolBounds.MAX_URI_BYTES;
    /// @notice Share of every slash or forfeited bond that always goes to the treasury (see EscrowParamsLib).
    uint256 public constant MIN_TREASURY_SLASH_BPS = EscrowParamsLib.MIN_TREASURY_SLASH_BPS;

    /// @dev Gas kept back for the CALL itself and the work after it, on top of the 1/64 that EIP-150 withholds.
    uint256 private constant CALLBACK_GAS_OVERHEAD = 10_000;
    /// @dev Number of fixed fields after `Job.id`, which the id hashes.
    uint256 private constant JOB_HASHED_WORDS = 16;

    IERC20 private immutable TOKEN;
    IModelRegistry private immutable REGISTRY;
    IVerifierStaking private immutable STAKING;

    /// @dev Declared first so that it shares a storage word with Pausable's flag: a request reads both at once.
    /// 2^64 jobs cannot be requested.
    uint64 private _jobCount;
    /// @dev The parameters in force: the id of their last version (shares the word above; 2^24 changes).
    uint24 private _paramsId;
    /// @dev Every version of the parameters; a job runs under the version in force when it was requested.
    mapping(uint256 paramsId => EscrowParams) private _paramsById;
    /// @dev The longest dispute window of any version: a job under an older version may still be disputed.
    uint256 private _maxDisputeWindow;
    address private _treasury;
    /// @dev Treasury income not yet moved to `_balances`, in the treasury's own storage word: a settlement reads
    /// the treasury's address anyway, so crediting it here saves a cold read of a balance slot.
    uint96 private _treasuryAccrued;
    /// @dev The randomness source in force, and an announced one with when it can be activated (0: none).
    CommitteeDrawLib.Sources private _sources;
    /// @dev Written when the job is requested (status Requested), so a job's later steps update a word that
    /// already exists; status None means no job has the id.
    mapping(uint256 jobId => JobState) private _states;
    mapping(uint256 jobId => bytes32 outputHash) private _outputHashes;
    /// @dev The members of a committee after its first three (see PackedCommittee): written once, when drawn.
    mapping(uint256 jobId => mapping(uint256 word => uint256 packed)) private _committees;
    /// @dev A committee's vote states, its first three members and the running hash of its sealed commitments
    /// (see VoteWord): written when it is drawn; a commit or a reveal writes only this word.
    mapping(uint256 jobId => VoteWord votes) private _votes;
    mapping(uint256 jobId => Challenge) private _challenges;
    mapping(address account => uint256 balance) private _balances;

    /// @param token_ The fee and stake token; must be the staking contract's token.
    /// @param registry_ The model registry.
    /// @param staking_ The staking contract; this escrow needs its ESCROW_ROLE to take jobs.
    /// @param randomness_ The committee randomness source.
    /// @param treasury_ Where protocol fees and the treasury's share of slashes are credited.
    /// @param governance The owner: sets parameters, treasury and randomness, and may pause.
    /// @param initialParams The parameters, checked against their bounds.
    constructor(
        IERC20 token_,
        IModelRegistry registry_,
        IVerifierStaking staking_,
        IRandomnessSource randomness_,
        address treasury_,
        address governance,
        EscrowParams memory initialParams
    ) Ownable(governance) {
        if (address(token_) == address(0) || address(registry_) == address(0) || address(staking_) == address(0)) {
            revert JobEscrowZeroAddress();
        }
        if (address(staking_.token()) != address(token_)) {
            revert JobEscrowTokenMismatch(address(token_), address(staking_.token()));
        }
        TOKEN = token_;
        REGISTRY = registry_;
        STAKING = staking_;
        CommitteeDrawLib.setSource(_sources, randomness_);
        _setTreasury(treasury_);
        _setParams(initialParams);
    }

    /// @inheritdoc IJobEscrow
    function requestInference(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes calldata input,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external whenNotPaused nonReentrant returns (uint256 jobId) {
        if (input.length == 0) revert JobEscrowEmptyInput();
        uint256 maxInput = _paramsById[_paramsId].maxInputBytes;
        if (input.length > maxInput) revert JobEscrowInputTooLarge(input.length, maxInput);
        uint256 expected = agreed.inputSize;
        if (expected != 0 && input.length != expected)
            revert JobEscrowInputSizeMismatch(modelId, input.length, expected);
        jobId = _request(modelId, agreed, keccak256(input), deadline, callbackGasLimit, input, "");
    }

    /// @inheritdoc IJobEscrow
    function requestInferenceByUri(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        string calldata inputUri,
        bytes32 inputHash,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external whenNotPaused nonReentrant returns (uint256 jobId) {
        uint256 uriLength = bytes(inputUri).length;
        if (uriLength == 0 || uriLength > MAX_URI_BYTES) revert JobEscrowInvalidInputUri(uriLength, MAX_URI_BYTES);
        if (inputHash == bytes32(0)) revert JobEscrowZeroInputHash();
        jobId = _request(modelId, agreed, inputHash, deadline, callbackGasLimit, "", inputUri);
    }

    /// @inheritdoc IJobEscrow
    function claim(Job calldata job) external whenNotPaused nonReentrant {
        JobState storage state = _stateOf(job);
        if (state.status != JobStatus.Requested) revert JobEscrowInvalidStatus(job.id, state.status);
        if (job.mode != IModelRegistry.VerificationMode.None) _requireVerifiers(job);
        _claim(job, state, true);
    }

    /// @inheritdoc IJobEscrow
    function submitResult(Job calldata job, bytes calldata output) external nonReentrant {
        _submit(job, output);
    }

    /// @inheritdoc IJobEscrow
    function submitResults(Job[] calldata jobs, bytes[] calldata outputs) external nonReentrant {
        if (jobs.length == 0 || jobs.length != outputs.length)
            revert JobEscrowInvalidBatch(jobs.length, outputs.length);
        uint256 mark = _memoryMark();
        for (uint256 i; i < jobs.length; ++i) {
            _submit(jobs[i], outputs[i]);
            _releaseMemory(mark);
        }
    }

    /// @inheritdoc IJobEscrow
    function challenge(Job calldata job) external nonReentrant {
        JobState storage state = _stateOf(job);
        (bool requested, uint256 bond) = CommitteeDrawLib.challenge(
            state,
            _challenges[job.id],
            _paramsById[job.paramsId],
            _sources.current,
            STAKING,
            job.id,
            job.mode == IModelRegistry.VerificationMode.Optimistic,
            job.fee,
            job.requester,
            msg.sender
        );
        // A challenge in time is always judged: when no committee can be drawn the result is not accepted.
        if (!requested) _settleInconclusive(job, state, new Seat[](0));
        _pull(msg.sender, bond);
    }

    /// @inheritdoc IJobEscrow
    function proveFraud(Job calldata job, bytes calldata evidence) external nonReentrant {
        JobState storage state = _stateOf(job);
        if (job.mode != IModelRegistry.VerificationMode.Proven) revert JobEscrowNotProven(job.id);
        // Reverts unless the job can be proven wrong now and the evidence convicts (the judge's named errors); else
        // ends it Rejected, slashes the worker and returns the split, the prover's share in it.
        Settlement memory settlement = ProvenJudge.convict(
            state,
            _paramsById[job.paramsId],
            STAKING,
            job.id,
            job.inputHash,
            _outputHashes[job.id],
            REGISTRY.getWeightsRoot(job.modelId, job.version),
            job.fee,
            job.collateral,
            evidence
        );
        _pay(job, address(0), JobOutcome.Rejected, settlement, new Seat[](0), msg.sender, "");
    }

    /// @inheritdoc IJobEscrow
    function drawCommittees(Job[] calldata jobs) external nonReentrant returns (uint256 drawn) {
        if (jobs.length == 0) revert JobEscrowInvalidBatch(0, 0);
        uint256 mark = _memoryMark();
        for (uint256 i; i < jobs.length; ++i) {
            if (_draw(jobs[i], _stateOf(jobs[i]), false)) ++drawn;
            _releaseMemory(mark);
        }
        // None could be drawn: the first job's draw again, this time reverting with the reason.
        if (drawn == 0) _draw(jobs[0], _stateOf(jobs[0]), true);
    }

    /// @inheritdoc IJobEscrow
    function commitVote(uint256 jobId, uint256 seat, bytes32 commitment) external nonReentrant {
        _commitVote(jobId, seat, commitment);
    }

    /// @inheritdoc IJobEscrow
    function commitVotes(
        uint256[] calldata jobIds,
        uint256[] calldata seats,
        bytes32[] calldata commitments
    ) external nonReentrant {
        uint256 count = jobIds.length;
        if (count == 0 || seats.length != count) revert JobEscrowInvalidBatch(count, seats.length);
        if (commitments.length != count) revert JobEscrowInvalidBatch(count, commitments.length);
        uint256 mark = _memoryMark();
        for (uint256 i; i < count; ++i) {
            _commitVote(jobIds[i], seats[i], commitments[i]);
            _releaseMemory(mark);
        }
    }

    /// @inheritdoc IJobEscrow
    function revealVote(
        uint256 jobId,
        uint256 seat,
        bool agree,
        bytes32 salt,
        bytes32[] calldata sealedCommitments
    ) external nonReentrant {
        _revealVote(jobId, seat, agree, salt, sealedCommitments);
    }

    /// @inheritdoc IJobEscrow
    function revealVotes(
        uint256[] calldata jobIds,
        uint256[] calldata seats,
        bool[] calldata agrees,
        bytes32[] calldata salts,
        bytes32[][] calldata sealedCommitments
    ) external nonReentrant {
        uint256 count = jobIds.length;
        if (count == 0 || seats.length != count) revert JobEscrowInvalidBatch(count, seats.length);
        if (agrees.length != count) revert JobEscrowInvalidBatch(count, agrees.length);
        if (salts.length != count) revert JobEscrowInvalidBatch(count, salts.length);
        if (sealedCommitments.length != count) revert JobEscrowInvalidBatch(count, sealedCommitments.length);
        uint256 mark = _memoryMark();
        for (uint256 i; i < count; ++i) {
            _revealVote(jobIds[i], seats[i], agrees[i], salts[i], sealedCommitments[i]);
            _releaseMemory(mark);
        }
    }

    /// @inheritdoc IJobEscrow
    function settle(Job calldata job, bytes calldata output) external nonReentrant {
        JobState storage state = _stateOf(job);
        (bool due, uint256 readyAt) = _due(job, state);
        if (!due) {
            if (readyAt == 0) revert JobEscrowInvalidStatus(job.id, state.status);
            revert JobEscrowNotSettleable(job.id, state.status, readyAt);
        }
        _settleDue(job, state, output);
    }

    /// @inheritdoc IJobEscrow
    function settleBatch(
        Job[] calldata jobs,
        bytes[] calldata outputs
    ) external nonReentrant returns (uint256 settled) {
        if (jobs.length == 0 || jobs.length != outputs.length)
            revert JobEscrowInvalidBatch(jobs.length, outputs.length);
        uint256 mark = _memoryMark();
        for (uint256 i; i < jobs.length; ++i) {
            JobState storage state = _stateOf(jobs[i]);
            (bool due, ) = _due(jobs[i], state);
            if (due) {
                _settleDue(jobs[i], state, outputs[i]);
                ++settled;
            }
            _releaseMemory(mark);
        }
    }

    /// @inheritdoc IJobEscrow
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert JobEscrowZeroDeposit();
        _pull(msg.sender, amount);
        _balances[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
    }

    /// @inheritdoc IJobEscrow
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _balances[msg.sender];
        if (msg.sender == _treasury) {
            amount += _treasuryAccrued;
            _treasuryAccrued = 0;
        }
        if (amount == 0) revert JobEscrowNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        TOKEN.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @inheritdoc IJobEscrow
    function setParams(EscrowParams calldata newParams) external onlyOwner {
        _setParams(newParams);
    }

    /// @inheritdoc IJobEscrow
    function setTreasury(address newTreasury) external onlyOwner {
        _setTreasury(newTreasury);
    }

    /// @inheritdoc IJobEscrow
    function announceRandomnessSource(IRandomnessSource next) external onlyOwner {
        CommitteeDrawLib.announce(_sources, next, STAKING);
    }

    /// @inheritdoc IJobEscrow
    function activateRandomnessSource() external onlyOwner {
        CommitteeDrawLib.activate(_sources);
    }

    /// @inheritdoc IJobEscrow
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IJobEscrow
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @inheritdoc IJobEscrow
    function token() external view returns (IERC20) {
        return TOKEN;
    }

    /// @inheritdoc IJobEscrow
    function registry() external view returns (IModelRegistry) {
        return REGISTRY;
    }

    /// @inheritdoc IJobEscrow
    function staking() external view returns (IVerifierStaking) {
        return STAKING;
    }

    /// @inheritdoc IJobEscrow
    function randomnessSource() external view returns (IRandomnessSource) {
        return _sources.current;
    }

    /// @inheritdoc IJobEscrow
    function nextRandomnessSource() external view returns (IRandomnessSource source, uint256 readyAt) {
        return (_sources.next, _sources.nextReadyAt);
    }

    /// @inheritdoc IJobEscrow
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IJobEscrow
    function params() external view returns (EscrowParams memory) {
        return paramsOf(_paramsId);
    }

    /// @inheritdoc IJobEscrow
    function paramsId() external view returns (uint256) {
        return _paramsId;
    }

    /// @inheritdoc IJobEscrow
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IJobEscrow
    function jobIdOf(Job calldata job) external view returns (uint256) {
        return _idOf(job);
    }

    /// @inheritdoc IJobEscrow
    function jobState(uint256 jobId) external view returns (JobState memory state) {
        state = _states[jobId];
        if (state.status == JobStatus.None) revert JobEscrowUnknownJob(jobId);
    }

    /// @inheritdoc IJobEscrow
    function outputHash(uint256 jobId) external view returns (bytes32) {
        return _outputHashes[jobId];
    }

    /// @inheritdoc IJobEscrow
    function committee(uint256 jobId) external view returns (Seat[] memory seats) {
        return _committeeSeats(jobId, _states[jobId].seats);
    }

    /// @inheritdoc IJobEscrow
    function challengeOf(uint256 jobId) external view returns (Challenge memory) {
        return _challenges[jobId];
    }

    /// @inheritdoc IJobEscrow
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account] + (account == _treasury ? _treasuryAccrued : 0);
    }

    /// @inheritdoc IJobEscrow
    function isSettleable(Job calldata job) external view returns (bool due) {
        (due, ) = _due(job, _stateOf(job));
    }

    /// @inheritdoc IDisputeWindowSource
    function maxDisputeWindow() external view returns (uint256) {
        return _maxDisputeWindow;
    }

    /// @inheritdoc IJobEscrow
    function paramsOf(uint256 id) public view returns (EscrowParams memory) {
        // Read here rather than through EscrowParamsLib: decoding a version the library returned took more code.
        if (id == 0 || id > _paramsId) revert JobEscrowUnknownParams(id);
        return _paramsById[id];
    }

    /// @inheritdoc IJobEscrow
    function voteCommitment(uint256 jobId, address verifier, bool agree, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, verifier, agree, salt));
    }

    /// @inheritdoc IJobEscrow
    function sealCommitment(uint256 seat, bytes32 commitment) public pure returns (bytes32) {
        return keccak256(abi.encode(seat, commitment));
    }

    // ---------------------------------------------------------------- request, claim, submit

    /// @dev Opens a job, announces it with its input (inline, or a URI) and takes the fee: from the requester's
    /// balance here when it covers the fee, else from its tokens.
    function _request(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes32 inputHash,
        uint64 deadline,
        uint32 callbackGasLimit,
        bytes memory input,
        string memory inputUri
    ) private returns (uint256) {
        Job memory job = _openJob(modelId, agreed, inputHash, deadline, callbackGasLimit);
        IModelRegistry.ModelTerms calldata terms = agreed.terms;
        emit JobRequested(job.id, msg.sender, modelId, job, input, inputUri, terms.relTolerance, terms.absTolerance);
        uint256 balance = _balances[msg.sender];
        if (balance >= job.fee) {
            // balance >= fee: no underflow.
            unchecked {
                _balances[msg.sender] = balance - job.fee;
            }
        } else {
            _pull(msg.sender, job.fee);
        }
        return job.id;
    }

    /// @dev Checks that `agreed` is the model's current snapshot, then snapshots it, the fee shares and the
    /// parameters' version into a new job record, whose hash is its id, and opens its state word.
    function _openJob(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes32 inputHash,
        uint64 deadline,
        uint32 callbackGasLimit
    ) private returns (Job memory job) {
        uint256 id = _paramsId;
        EscrowParams storage p = _paramsById[id];
        uint256 latest = block.timestamp + p.maxJobDuration;
        if (deadline <= block.timestamp || deadline > latest) revert JobEscrowInvalidDeadline(deadline, latest);
        if (callbackGasLimit != 0) {
            if (callbackGasLimit > p.maxCallbackGasLimit) {
                revert JobEscrowCallbackGasTooHigh(callbackGasLimit, p.maxCallbackGasLimit);
            }
            if (msg.sender.code.length == 0) revert JobEscrowCallbackRequiresContract(msg.sender);
        }
        // One storage read in the registry instead of the snapshot's three: the requester passes the snapshot
        // it agreed to, and the registry's hash of its current one must match.
        bytes32 current = REGISTRY.jobTermsHash(modelId);
        bytes32 agreedHash = JobTermsLib.hashCalldata(agreed);
        if (agreedHash != current) revert JobEscrowTermsChanged(modelId, agreedHash, current);
        IModelRegistry.ModelTerms calldata terms = agreed.terms;
        uint256 fee = terms.price;
        if (fee < p.minFee) revert JobEscrowFeeTooLow(modelId, fee, p.minFee);

        job = Job({
            id: 0,
            nonce: ++_jobCount,
            requester: msg.sender,
            modelOwner: agreed.owner,
            modelId: modelId,
            version: agreed.version,
            mode: terms.mode,
            committeeSize: terms.committeeSize,
            royaltyBps: terms.royaltyBps,
            protocolFeeBps: p.protocolFeeBps,
            verifierShareBps: p.verifierShareBps,
            paramsId: uint32(id),
            callbackGasLimit: callbackGasLimit,
            deadline: deadline,
            fee: uint96(fee),
            collateral: Math.max((fee * p.collateralRatioBps) / ProtocolBounds.BPS, p.minCollateral).toUint96(),
            inputHash: inputHash
        });
        job.id = _idOf(job);
        _states[job.id].status = JobStatus.Requested;
    }

    /// @dev Claims `job` for the caller. `lockCollateral` false is for a job that settles in this same
    /// transaction (None mode, claimed by its submission): its collateral could only be locked and released
    /// again, so the worker's free stake is checked instead.
    function _claim(Job memory job, JobState storage state, bool lockCollateral) private {
        if (block.timestamp > job.deadline) revert JobEscrowDeadlinePassed(job.id, job.deadline);
        uint256 submitBy = Math.min(block.timestamp + _paramsById[job.paramsId].submissionWindow, job.deadline);
        state.status = JobStatus.Claimed;
        state.worker = msg.sender;
        state.windowEnd = uint40(submitBy);
        emit JobClaimed(job.id, msg.sender, job.collateral, uint64(submitBy));
        if (lockCollateral) {
            STAKING.lock(msg.sender, job.collateral);
        } else {
            uint256 free = STAKING.freeStakeOf(msg.sender);
            if (free < job.collateral) {
                revert IVerifierStaking.VerifierStakingInsufficientStake(msg.sender, free, job.collateral);
            }
        }
    }

    function _submit(Job memory job, bytes calldata output) private {
        JobState storage state = _stateOf(job);
        JobStatus status = state.status;
        bool locked = true;
        bool claimedNow = status == JobStatus.Requested;
        if (claimedNow) {
            _requireNotPaused();
            locked = job.mode != IModelRegistry.VerificationMode.None;
            if (locked) _requireVerifiers(job);
            _claim(job, state, locked);
        } else if (status != JobStatus.Claimed) {
            revert JobEscrowInvalidStatus(job.id, status);
        } else {
            if (msg.sender != state.worker) revert JobEscrowNotWorker(job.id, msg.sender);
            if (block.timestamp > state.windowEnd) revert JobEscrowSubmissionWindowClosed(job.id, state.windowEnd);
        }
        if (output.length == 0) revert JobEscrowEmptyOutput(job.id);
        EscrowParams storage p = _paramsById[job.paramsId];
        uint256 maxOutput = p.maxOutputBytes;
        if (output.length > maxOutput) revert JobEscrowOutputTooLarge(job.id, output.length, maxOutput);

        bytes32 hash = keccak256(output);
        bool none = job.mode == IModelRegistry.VerificationMode.None;
        // A None job settles here: nothing is settled or disputed against its output later, so its hash is kept only
        // for a consumer, which may have to accept the output after a failed callback (22,100 gas a job otherwise).
        if (!none || job.callbackGasLimit != 0) _outputHashes[job.id] = hash;
        if (none) {
            emit ResultSubmitted(job.id, msg.sender, hash, output, 0);
            _settleAccepted(job, state, output, new Seat[](0), 0, locked);
        } else if (job.mode != IModelRegistry.VerificationMode.Committee) {
            // Optimistic or Proven: the result stands unless challenged (Optimistic) or proven wrong (Proven) in time.
            uint256 windowEnd = block.timestamp + p.challengeWindow;
            state.status = JobStatus.Submitted;
            state.windowEnd = uint40(windowEnd);
            emit ResultSubmitted(job.id, msg.sender, hash, output, uint64(windowEnd));
        } else {
            // Ask for the committee's seed (Drawing). Claimed in this transaction, the job is refused rather than
            // refunded when the source fails.
            bool requested = CommitteeDrawLib.request(state, p, _sources.current, job.id, claimedNow);
            emit ResultSubmitted(job.id, msg.sender, hash, output, requested ? state.windowEnd : 0);
            if (!requested) _settleInconclusive(job, state, new Seat[](0));
        }
    }

    /// @dev Draws the committee of `job`, whose state is `state` (CommitteeDrawLib.draw), excluding its worker,
    /// requester, model owner and any challenger; settles it Inconclusive when too few verifiers are eligible.
    /// Returns whether the job left Drawing. With `single`, what keeps it from being drawn now reverts; otherwise it
    /// is skipped.
    function _draw(Job memory job, JobState storage state, bool single) private returns (bool) {
        CommitteeDrawLib.Drawn result = CommitteeDrawLib.draw(
            state,
            _votes,
            _committees[job.id],
            _paramsById[job.paramsId],
            _sources.current,
            STAKING,
            job.id,
            job.committeeSize,
            job.requester,
            job.modelOwner,
            _challengeIfAny(job).challenger,
            single
        );
        if (result == CommitteeDrawLib.Drawn.TooFew) _settleInconclusive(job, state, new Seat[](0));
        return result != CommitteeDrawLib.Drawn.Skipped;
    }

    /// @dev Reverts unless a committee for `job` could be drawn now with the caller as its worker: its size in
    /// eligible verifiers besides the caller, the requester and the model owner, and one more for an optimistic
    /// job, whose challenger sits out its own committee. A Proven job never draws one (nor does a None job, whose
    /// callers skip this).
    function _requireVerifiers(Job memory job) private view {
        IModelRegistry.VerificationMode mode = job.mode;
        if (mode == IModelRegistry.VerificationMode.Proven) return;
        uint256 needed = job.committeeSize;
        if (mode == IModelRegistry.VerificationMode.Optimistic) ++needed;
        CommitteeDrawLib.requireVerifiers(address(STAKING), job.id, msg.sender, job.requester, job.modelOwner, needed);
    }

    // ---------------------------------------------------------------- settlement

    /// @dev Whether the job can be brought to a terminal state now, and if not, from when (0: never, it is
    /// already terminal).
    function _due(Job memory job, JobState storage state) private view returns (bool, uint256 readyAt) {
        JobStatus status = state.status;
        if (status == JobStatus.Requested) {
            readyAt = uint256(job.deadline) + 1;
        } else if (status == JobStatus.Claimed || status == JobStatus.Submitted || status == JobStatus.Drawing) {
            readyAt = uint256(state.windowEnd) + 1;
        } else if (status == JobStatus.Voting) {
            readyAt = uint256(state.revealEnd) + 1;
            if (block.timestamp < readyAt && _votes[job.id].allRevealed(state.seats)) {
                return (true, readyAt);
            }
        } else {
            return (false, 0);
        }
        return (block.timestamp >= readyAt, readyAt);
    }

    function _settleDue(Job memory job, JobState storage state, bytes calldata output) private {
        if (output.length != 0 && keccak256(output) != _outputHashes[job.id]) revert JobEscrowOutputMismatch(job.id);
        JobStatus status = state.status;
        if (status == JobStatus.Requested) {
            state.status = JobStatus.Refunded;
            Settlement memory settlement = SettlementMath.expired(job.fee);
            _pay(job, address(0), JobOutcome.Expired, settlement, new Seat[](0), address(0), "");
        } else if (status == JobStatus.Claimed) {
            _settleAbandoned(job, state);
        } else if (status == JobStatus.Submitted) {
            _settleAccepted(job, state, output, new Seat[](0), 0, true);
        } else if (status == JobStatus.Drawing) {
            // Past its draw window: a job whose seed exists is drawn now (nobody ends a job undrawn by not drawing
            // it); only one whose seed never came ends Inconclusive.
            if (!_draw(job, state, false)) _settleInconclusive(job, state, new Seat[](0));
        } else {
            _tally(job, state, output);
        }
    }

    /// @dev A claim that was never submitted: part of the collateral is slashed, the requester refunded and
    /// compensated from it.
    function _settleAbandoned(Job memory job, JobState storage state) private {
        state.status = JobStatus.Refunded;
        EscrowParams storage p = _paramsById[job.paramsId];
        uint256 slashed = STAKING.slash(
            state.worker,
            job.collateral,
            SettlementMath.abandonSlash(job.collateral, p.timeoutSlashBps),
            address(this)
        );
        Settlement memory settlement = SettlementMath.abandoned(job.fee, slashed, p.compensationBps);
        _pay(job, address(0), JobOutcome.Abandoned, settlement, new Seat[](0), address(0), "");
    }

    /// @dev Counts the revealed votes and settles by majority of the committee's size; tells the staking contract
    /// the committee settled, which frees its members' stake for withdrawal.
    function _tally(Job memory job, JobState storage state, bytes calldata output) private {
        STAKING.committeeSettled(state.revealEnd);
        uint256 size = state.seats;
        Seat[] memory seats = _committeeSeats(job.id, size);
        uint256 agreed;
        uint256 disagreed;
        for (uint256 i; i < size; ++i) {
            if (seats[i].vote == VoteState.Agreed) ++agreed;
            else if (seats[i].vote == VoteState.Disagreed) ++disagreed;
        }
        uint256 majority = size / 2 + 1;
        if (agreed >= majority) _settleAccepted(job, state, output, seats, agreed, true);
        else if (disagreed >= majority) _settleRejected(job, state, seats, disagreed);
        else _settleInconclusive(job, state, seats);
    }

    /// @dev The output stands: the worker is paid and its collateral released; when a committee voted, the
    /// agreeing verifiers share the verifier share of the fee and any forfeited challenge bond.
    function _settleAccepted(
        Job memory job,
        JobState storage state,
        bytes calldata output,
        Seat[] memory seats,
        uint256 agreed,
        bool locked
    ) private {
        if (job.callbackGasLimit != 0 && output.length == 0) revert JobEscrowOutputRequired(job.id);
        state.status = JobStatus.Settled;
        address worker = state.worker;
        Settlement memory settlement;
        if (agreed == 0) {
            settlement = SettlementMath.accepted(job.fee, job.royaltyBps, job.protocolFeeBps);
        } else {
            uint256 bond = _challengeIfAny(job).bond;
            uint256 compensationBps;
            uint256 verifierRewardBps;
            if (bond != 0) {
                EscrowParams storage p = _paramsById[job.paramsId];
                (compensationBps, verifierRewardBps) = (p.compensationBps, p.verifierRewardBps);
            }
            settlement = SettlementMath.acceptedByCommittee(
                job.fee,
                job.royaltyBps,
                job.protocolFeeBps,
                job.verifierShareBps,
                agreed,
                bond,
                compensationBps,
                verifierRewardBps
            );
        }
        if (locked) STAKING.unlock(worker, job.collateral);
        _pay(job, worker, JobOutcome.Accepted, settlement, seats, address(0), output);
    }

    /// @dev The committee found the output wrong: the whole collateral is slashed; the requester gets the fee back
    /// and the compensation share; the disagreeing verifiers (and a challenger) share the verifier reward. (A proven
    /// fraud settles the same way, with the prover as the challenger: ProvenJudge.convict.)
    function _settleRejected(Job memory job, JobState storage state, Seat[] memory seats, uint256 disagreed) private {
        state.status = JobStatus.Rejected;
        EscrowParams storage p = _paramsById[job.paramsId];
        uint256 slashed = STAKING.slash(state.worker, job.collateral, job.collateral, address(this));
        Challenge memory won = _challengeIfAny(job);
        Settlement memory settlement = SettlementMath.rejected(
            job.fee,
            slashed,
            p.compensationBps,
            p.verifierRewardBps,
            disagreed,
            won.challenger != address(0),
            won.bond
        );
        _pay(job, address(0), JobOutcome.Rejected, settlement, seats, won.challenger, "");
    }

    /// @dev Neither side won, or no committee could be drawn: the requester is refunded and the collateral
    /// released. A challenge its committee left unresolved is the challenger's loss, not the worker's: its bond
    /// pays the worker; a challenge no committee could be drawn for gets its bond back. Only seats that never
    /// revealed are penalised.
    function _settleInconclusive(Job memory job, JobState storage state, Seat[] memory seats) private {
        state.status = JobStatus.Refunded;
        Challenge memory challenged = _challengeIfAny(job);
        address worker = state.worker;
        STAKING.unlock(worker, job.collateral);
        Settlement memory settlement =
            seats.length == 0 || challenged.challenger == address(0)
                ? SettlementMath.inconclusive(job.fee, challenged.bond)
                : SettlementMath.unresolvedChallenge(job.fee, job.royaltyBps, job.protocolFeeBps, challenged.bond);
        _pay(job, worker, JobOutcome.Inconclusive, settlement, seats, challenged.challenger, "");
    }

    /// @dev Moves the money of a settlement: credits each party its share of `settlement` (the worker, the
    /// model owner, the requester, a challenger, the treasury, and each seat that voted with the outcome),
    /// penalises the seats that did not, then emits JobSettled and runs the callback. The one place a settlement
    /// credits anyone; the stake (slash or unlock) has already moved.
    function _pay(
        Job memory job,
        address worker,
        JobOutcome outcome,
        Settlement memory settlement,
        Seat[] memory seats,
        address challenger,
        bytes memory output
    ) private {
        _credit(worker, settlement.workerPayment);
        _credit(job.modelOwner, settlement.royalty);
        _credit(job.requester, settlement.requesterRefund);
        _credit(challenger, settlement.challengerPayment);
        if (seats.length != 0) {
            // Inconclusive has no majority: only the seats that never revealed (still Drawn or Committed) lose.
            VoteState majority =
                outcome == JobOutcome.Accepted
                    ? VoteState.Agreed
                    : (outcome == JobOutcome.Rejected ? VoteState.Disagreed : VoteState.Drawn);
            _rewardVoters(seats, majority, settlement.verifierReward);
            _penalize(job, seats, majority, outcome != JobOutcome.Inconclusive);
        }
        _creditTreasury(settlement.treasuryPayment);
        _finish(job, outcome, settlement, output);
    }

    /// @dev Credits `reward` to every seat whose revealed vote is `majority`.
    function _rewardVoters(Seat[] memory seats, VoteState majority, uint256 reward) private {
        if (reward == 0) return;
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].vote == majority) _credit(seats[i].verifier, reward);
        }
    }

    /// @dev Slashes the vote penalty from every seat that never revealed and, when there is a majority, from
    /// every seat that revealed the other vote; credits it to the treasury.
    function _penalize(Job memory job, Seat[] memory seats, VoteState majority, bool hasMajority) private {
        uint256 penalty = type(uint256).max; // read from storage only when some seat is penalised
        for (uint256 i; i < seats.length; ++i) {
            VoteState vote = seats[i].vote;
            bool revealed = vote == VoteState.Agreed || vote == VoteState.Disagreed;
            if (revealed && (!hasMajority || vote == majority)) continue;
            if (penalty == type(uint256).max) penalty = _paramsById[job.paramsId].votePenalty;
            if (penalty == 0) return;
            uint256 slashed = STAKING.slash(seats[i].verifier, 0, penalty, address(this));
            _creditTreasury(slashed);
            emit VerifierPenalized(job.id, seats[i].verifier, slashed, revealed);
        }
    }

    /// @dev Emits the settlement and, last of all, runs the consumer callback with exactly its gas limit.
    function _finish(Job memory job, JobOutcome outcome, Settlement memory settlement, bytes memory output) private {
        emit JobSettled(job.id, outcome, settlement);
        uint256 gasLimit = job.callbackGasLimit;
        if (gasLimit == 0) return;
        bytes memory data = abi.encodeCall(IInferenceConsumer.onInferenceResult, (job.id, outcome, output));
        // EIP-150 forwards at most 63/64 of the gas left; make sure that is still the whole limit, so a settler
        // cannot starve the callback into failing.
        uint256 needed = gasLimit + gasLimit / 63 + CALLBACK_GAS_OVERHEAD;
        if (gasleft() < needed) revert JobEscrowInsufficientGasForCallback(job.id, gasleft(), needed);
        address consumer = job.requester;
        bool success;
        // A plain call that copies no return data: a reverting, gas-burning or return-bombing consumer
        // costs at most its own gas limit and never reverts settlement (try/catch would copy the return data).
        assembly ("memory-safe") {
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit CallbackDelivered(job.id, consumer, success);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The state of the job `job` describes, after checking that `job` hashes to its id.
    function _stateOf(Job memory job) private view returns (JobState storage state) {
        state = _states[job.id];
        if (state.status == JobStatus.None) revert JobEscrowUnknownJob(job.id);
        if (_idOf(job) != job.id) revert JobEscrowJobMismatch(job.id);
    }

    /// @dev keccak256 of the deployment's domain followed by the fixed fields after `id`, as abi.encode lays
    /// them out: a memory struct of static fields holds one word per field, in order, so the domain is put in
    /// the `id` word for the hash and the word is restored after it.
    function _idOf(Job memory job) private view returns (uint256 id) {
        assembly ("memory-safe") {
            mstore(0x00, chainid())
            mstore(0x20, address())
            let domain := keccak256(0x00, 0x40)
            let saved := mload(job)
            mstore(job, domain)
            id := keccak256(job, mul(add(JOB_HASHED_WORDS, 1), 0x20))
            mstore(job, saved)
        }
    }

    function _votingState(uint256 jobId) private view returns (JobState storage state) {
        state = _states[jobId];
        JobStatus status = state.status;
        if (status != JobStatus.Voting) {
            if (status == JobStatus.None) revert JobEscrowUnknownJob(jobId);
            revert JobEscrowInvalidStatus(jobId, status);
        }
    }

    /// @dev Only an optimistic job can have been challenged; the other modes skip the storage read.
    function _challengeIfAny(Job memory job) private view returns (Challenge memory challenged) {
        if (job.mode == IModelRegistry.VerificationMode.Optimistic) challenged = _challenges[job.id];
    }

    /// @dev The free memory pointer, for `_releaseMemory`.
    function _memoryMark() private pure returns (uint256 mark) {
        assembly ("memory-safe") {
            mark := mload(0x40)
        }
    }

    /// @dev Sets the free memory pointer back to `mark`, after a batch's item is done: nothing the item allocated
    /// (its job copied from calldata, call and event buffers) is read again, and memory costs more the further it
    /// reaches (quadratically), so the next item reuses it instead of allocating beyond it.
    function _releaseMemory(uint256 mark) private pure {
        assembly ("memory-safe") {
            mstore(0x40, mark)
        }
    }

    // ---------------------------------------------------------------- committee storage and votes

    function _commitVote(uint256 jobId, uint256 seat, bytes32 commitment) private {
        if (commitment == bytes32(0)) revert JobEscrowZeroCommitment();
        JobState storage state = _votingState(jobId);
        uint256 commitEnd = state.windowEnd;
        if (block.timestamp > commitEnd) revert JobEscrowCommitWindowClosed(jobId, commitEnd);
        VoteWord word = _votes[jobId];
        _checkSeat(jobId, word, state.seats, seat);
        _checkVote(jobId, word, seat, VoteState.Committed);
        _votes[jobId] = word.withVote(seat, VoteState.Committed).withCommitment(sealCommitment(seat, commitment));
        emit VoteCommitted(jobId, msg.sender, seat, commitment);
    }

    function _revealVote(
        uint256 jobId,
        uint256 seat,
        bool agree,
        bytes32 salt,
        bytes32[] calldata sealedCommitments
    ) private {
        JobState storage state = _votingState(jobId);
        uint256 revealEnd = state.revealEnd;
        if (block.timestamp > revealEnd) revert JobEscrowRevealWindowClosed(jobId, revealEnd);
        uint256 size = state.seats;
        VoteWord word = _votes[jobId];
        _checkSeat(jobId, word, size, seat);
        VoteState vote = agree ? VoteState.Agreed : VoteState.Disagreed;
        _checkVote(jobId, word, seat, vote);
        uint256 commitEnd = state.windowEnd;
        if (block.timestamp <= commitEnd && !word.allCommitted(size)) {
            revert JobEscrowRevealNotOpen(jobId, commitEnd);
        }
        // Replay the running hash over the sealed commitments given, looking for this seat's opening among them.
        bytes32 opened = sealCommitment(seat, voteCommitment(jobId, msg.sender, agree, salt));
        bool found;
        uint256 chain;
        for (uint256 i; i < sealedCommitments.length; ++i) {
            bytes32 sealed_ = sealedCommitments[i];
            if (sealed_ == opened) found = true;
            chain = VoteWordLib.fold(chain, sealed_);
        }
        if (chain != word.chain()) revert JobEscrowCommitmentsMismatch(jobId);
        if (!found) revert JobEscrowCommitmentMismatch(jobId, msg.sender);
        _votes[jobId] = word.withVote(seat, vote);
        emit VoteRevealed(jobId, msg.sender, agree);
    }

    /// @dev Reverts unless the caller holds `seat` on the committee of `size` seats whose vote word is `votes`.
    function _checkSeat(uint256 jobId, VoteWord votes, uint256 size, uint256 seat) private view {
        if (seat >= size || _memberAt(jobId, votes, seat) != msg.sender) {
            revert JobEscrowNotCommitteeMember(jobId, msg.sender, seat);
        }
    }

    /// @dev Reverts unless `seat` may move to `to`: a commit from Drawn, a reveal (to Agreed or Disagreed) from
    /// Committed.
    function _checkVote(uint256 jobId, VoteWord word, uint256 seat, VoteState to) private view {
        VoteState vote = word.voteAt(seat);
        VoteState from = to == VoteState.Committed ? VoteState.Drawn : VoteState.Committed;
        if (vote != from) revert JobEscrowInvalidVoteState(jobId, msg.sender, vote);
    }

    /// @dev The member in `seat` of the committee whose vote word is `votes`: the account of the seat's leaf in the
    /// staking contract's sum tree.
    function _memberAt(uint256 jobId, VoteWord votes, uint256 seat) private view returns (address) {
        return STAKING.verifierAtLeaf(PackedCommittee.leafAt(votes, _committees[jobId], seat));
    }

    /// @dev The committee as seats with their votes, for views and settlement.
    function _committeeSeats(uint256 jobId, uint256 size) private view returns (Seat[] memory seats) {
        seats = new Seat[](size);
        VoteWord votes = _votes[jobId];
        for (uint256 i; i < size; ++i) {
            seats[i] = Seat({verifier: _memberAt(jobId, votes, i), vote: votes.voteAt(i)});
        }
    }

    function _credit(address account, uint256 amount) private {
        if (amount != 0) _balances[account] += amount;
    }

    function _creditTreasury(uint256 amount) private {
        if (amount == 0) return;
        uint256 accrued = _treasuryAccrued + amount;
        if (accrued > type(uint96).max) {
            _balances[_treasury] += accrued;
            accrued = 0;
        }
        // accrued <= type(uint96).max here.
        _treasuryAccrued = uint96(accrued);
    }

    /// @dev Pulls `amount` from `from`, refusing tokens that deliver less than was sent.
    function _pull(address from, uint256 amount) private {
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(from, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert JobEscrowTransferShortfall(amount, received);
    }

    function _setParams(EscrowParams memory p) private {
        uint256 id = uint256(_paramsId) + 1;
        _paramsId = id.toUint24();
        uint256 window = EscrowParamsLib.store(_paramsById, id, p, STAKING.unbondingPeriod());
        if (window > _maxDisputeWindow) _maxDisputeWindow = window;
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert JobEscrowZeroAddress();
        address previous = _treasury;
        // Income accrued so far belongs to the treasury that earned it.
        _credit(previous, _treasuryAccrued);
        _treasuryAccrued = 0;
        _treasury = newTreasury;
        emit TreasuryUpdated(previous, newTreasury);
    }
}
