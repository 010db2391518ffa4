// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IVerifierStaking, IDisputeWindowSource} from "./IVerifierStaking.sol";
import {IRandomnessSource} from "./IRandomnessSource.sol";

/// @title IJobEscrow
/// @notice The life of an inference job: request (fee into escrow), claim (worker collateral locked), submit,
/// verification (none, optimistic challenge, or committee commit-reveal), and settlement that pays honest work
/// and slashes proven fraud.
/// @dev A job's id is the hash of its fixed fields (`Job`, see `Job.id`), so storage keeps no record of them:
/// per job it keeps the mutable state (one word, from the request on), the output hash, and for a committee
/// its members and one word of votes. The fixed fields travel as a `Job` struct: emitted in full by
/// `JobRequested`, and passed back by whoever claims, submits, challenges or settles; the escrow checks that
/// they hash to the id (JobEscrowJobMismatch). Inputs and outputs live in calldata and events only; storage
/// keeps the keccak256 of an output (`outputHash`), the job id commits to the input's.
///
/// Payouts are credited to balances in the escrow and paid by `withdraw` (pull payments). Every terminal
/// transition, including refunds of expired jobs and reclaims of abandoned ones, goes through `settle`, which
/// anyone may call once the relevant window has closed.
interface IJobEscrow is IDisputeWindowSource {
    /// @notice Where a job is. Settled, Rejected and Refunded are terminal.
    enum JobStatus {
        None, // no job has this id
        Requested, // fee escrowed, waiting for a worker
        Claimed, // a worker locked collateral and must submit by `windowEnd`
        Submitted, // output posted; an optimistic job waits out its challenge window
        Drawing, // a committee must be drawn, from a seed that did not exist when it was asked for, by `windowEnd`
        Voting, // a committee was drawn: commit until `windowEnd`, reveal until `revealEnd`
        Settled, // accepted: the worker was paid
        Rejected, // the committee found the output wrong: the worker was slashed, the requester refunded
        Refunded // expired, abandoned or inconclusive: the requester got the fee back
    }

    /// @notice Why a job ended.
    enum JobOutcome {
        Accepted, // the output stands
        Rejected, // a committee majority found the output wrong
        Inconclusive, // no majority either way, or no committee could be drawn
        Expired, // nobody claimed it before its deadline
        Abandoned // claimed but not submitted within the submission window
    }

    /// @notice A committee seat's vote. Agreed and Disagreed are revealed votes.
    enum VoteState {
        Drawn,
        Committed,
        Agreed,
        Disagreed
    }

    /// @notice The fixed fields of a job, snapshotted when it is requested.
    struct Job {
        // keccak256 of `abi.encode(domain, nonce, requester, …, inputHash)`: every field below after the
        // deployment's domain, `keccak256(abi.encode(block.chainid, escrow))`. Unique because `nonce` is, and
        // never shared by two escrows or two chains; vote commitments bind it, so they are unique too.
        uint256 id;
        uint64 nonce; // the escrow's request counter at this request: 1 for its first job, 2 for the next, …
        address requester; // pays the fee; receives refunds and, if `callbackGasLimit` > 0, the callback
        address modelOwner; // receives the royalty
        uint256 modelId;
        uint256 version;
        IModelRegistry.VerificationMode mode;
        uint8 committeeSize;
        uint16 royaltyBps;
        uint16 protocolFeeBps; // copied from the job's parameters, so that settling reads no storage for them
        uint16 verifierShareBps; // likewise
        uint32 paramsId; // the governance parameters the job runs under (`paramsOf`): windows, slashes, bonds
        uint32 callbackGasLimit; // 0: no callback
        uint64 deadline; // last second at which the job can be claimed or submitted
        uint96 fee;
        uint96 collateral; // stake the worker locks on claim
        bytes32 inputHash; // keccak256 of the canonical input bytes
    }

    /// @notice The mutable part of a job.
    struct JobState {
        JobStatus status;
        address worker;
        uint40 windowEnd; // Claimed: submit by; Submitted: challenge until; Drawing: draw by; Voting: commit until
        uint40 revealEnd; // Drawing: the randomness source's ticket; Voting: reveal until
        uint8 seats; // committee size once a committee is drawn
    }

    /// @notice A committee seat.
    struct Seat {
        address verifier;
        VoteState vote;
    }

    /// @notice An optimistic job's challenge.
    struct Challenge {
        address challenger;
        uint96 bond; // max(challengeBond, fee) when posted
    }

    /// @notice What a settlement paid, as credited to balances in the escrow.
    struct Settlement {
        // to the worker: fee share (out of the bond after an unresolved challenge), plus its share of a forfeited bond
        uint256 workerPayment;
        uint256 royalty; // to the model owner
        uint256 treasuryPayment; // to the treasury: protocol fee and the treasury's share of slashes and bonds
        uint256 verifierReward; // to each rewarded verifier (and to a winning challenger)
        uint256 rewardedVerifiers; // how many were rewarded
        uint256 requesterRefund; // to the requester: fee refund and compensation
        // to the challenger: its bond back (less the fee when unresolved), plus its reward when it won
        uint256 challengerPayment;
        uint256 slashed; // taken from the worker's stake
    }

    /// @notice Governance parameters. Each has hard bounds checked by `setParams`.
    /// @dev Packed in three storage words in this order.
    struct EscrowParams {
        uint16 protocolFeeBps; // share of every accepted fee to the treasury, <= 1000
        uint16 verifierShareBps; // share of the fee to agreeing verifiers when a committee voted, <= 3000
        uint16 collateralRatioBps; // collateral = fee * ratio, at least minCollateral; 10000..50000
        uint16 timeoutSlashBps; // share of collateral slashed when a claim is abandoned; 500..10000
        uint16 compensationBps; // share of a slash (or forfeited bond) paid to the wronged party
        uint16 verifierRewardBps; // share of a slash (or forfeited bond) paid to the majority verifiers
        uint32 submissionWindow; // seconds a worker has from claim to submission
        uint32 challengeWindow; // seconds an optimistic result can be challenged
        uint32 commitWindow; // seconds committee members have to commit
        uint32 revealWindow; // seconds they then have to reveal
        uint32 maxJobDuration; // furthest deadline from the request, in seconds
        uint96 minFee; // smallest fee a job may have (against dust jobs)
        uint96 minCollateral; // collateral floor
        uint32 maxInputBytes; // largest inline input
        uint32 maxOutputBytes; // largest output
        uint96 votePenalty; // slashed from a verifier who does not reveal or votes against the majority
        uint96 challengeBond; // posted by a challenger, > 0
        uint32 maxCallbackGasLimit; // largest callback gas a request may ask for
    }

    /// @notice Emitted when a job is requested: its full fixed record, its input (inline, or a URI with
    /// `job.inputHash`), and the model's tolerance snapshot for verifiers.
    event JobRequested(
        uint256 indexed jobId,
        address indexed requester,
        uint256 indexed modelId,
        Job job,
        bytes input,
        string inputUri,
        uint32 relTolerance,
        uint32 absTolerance
    );
    /// @notice Emitted when a worker claims a job and locks `collateral`; it must submit by `submitBy`.
    event JobClaimed(uint256 indexed jobId, address indexed worker, uint256 collateral, uint64 submitBy);
    /// @notice Emitted when a worker posts a job's output (canonical tensor bytes).
    /// @param windowEnd End of the challenge window (Optimistic), of the draw window (Committee), 0 otherwise.
    event ResultSubmitted(
        uint256 indexed jobId,
        address indexed worker,
        bytes32 outputHash,
        bytes output,
        uint64 windowEnd
    );
    /// @notice Emitted when a verifier challenges an optimistic result.
    event ResultChallenged(uint256 indexed jobId, address indexed challenger, uint256 bond);
    /// @notice Emitted when a committee is drawn: commit until `commitEnd`, reveal until `revealEnd`.
    event CommitteeDrawn(uint256 indexed jobId, address[] committee, uint64 commitEnd, uint64 revealEnd);
    /// @notice Emitted when the member in seat `seat` commits a hidden vote. A reveal passes every commitment of
    /// the job, each sealed with its seat (`sealCommitment(seat, commitment)`), in the order of these events.
    event VoteCommitted(uint256 indexed jobId, address indexed verifier, uint256 seat, bytes32 commitment);
    /// @notice Emitted when a committee member reveals its vote.
    event VoteRevealed(uint256 indexed jobId, address indexed verifier, bool agree);
    /// @notice Emitted when a committee member loses `amount` of stake for not revealing or voting against the
    /// majority (`revealed` false means it never revealed).
    event VerifierPenalized(uint256 indexed jobId, address indexed verifier, uint256 amount, bool revealed);
    /// @notice Emitted when `prover` proves a Proven job's posted result wrong (`proveFraud`), naming the neuron of
    /// the proof (`layer` from 1, `index` from 0) and how the judge convicted (`ProvenJudge.Fraud`: 0 the output's
    /// layout, 1 the served input's, 2 a vector's width, 3 the neuron's value). JobSettled (Rejected) follows.
    event FraudProven(uint256 indexed jobId, address indexed prover, uint8 fraud, uint256 layer, uint256 index);
    /// @notice Emitted when a job reaches its terminal state, with every amount credited.
    event JobSettled(uint256 indexed jobId, JobOutcome indexed outcome, Settlement settlement);
    /// @notice Emitted after the consumer callback, whether it succeeded or not.
    event CallbackDelivered(uint256 indexed jobId, address indexed consumer, bool success);
    /// @notice Emitted when an account pays tokens into its balance, which its requests draw on.
    event Deposited(address indexed account, uint256 amount);
    /// @notice Emitted when an account withdraws its credited balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when governance sets new parameters, version `paramsId`: jobs requested from now on run
    /// under them; jobs already requested keep the version they were requested under.
    event ParamsUpdated(uint256 indexed paramsId, EscrowParams params);
    /// @notice Emitted when governance changes the treasury.
    event TreasuryUpdated(address indexed previousTreasury, address indexed newTreasury);
    /// @notice Emitted when the randomness source changes (at deployment, then by `activateRandomnessSource`).
    event RandomnessSourceUpdated(address indexed previousSource, address indexed newSource);
    /// @notice Emitted when governance announces a randomness source, which can be activated from `readyAt`.
    event RandomnessSourceAnnounced(address indexed source, uint256 readyAt);

    /// @notice No version of the parameters has this id (they are numbered from 1).
    error JobEscrowUnknownParams(uint256 paramsId);
    /// @notice No job has this id.
    error JobEscrowUnknownJob(uint256 jobId);
    /// @notice The `Job` passed does not hash to the job's stored record.
    error JobEscrowJobMismatch(uint256 jobId);
    /// @notice The job is not in a status that allows this.
    error JobEscrowInvalidStatus(uint256 jobId, JobStatus current);
    /// @notice The model's terms are no longer the ones the request agreed to (`agreed` and `current` are
    /// `IModelRegistry.jobTermsHash` values): read `jobTerms` again and decide anew.
    error JobEscrowTermsChanged(uint256 modelId, bytes32 agreed, bytes32 current);
    /// @notice The model's price is below the protocol's minimum fee.
    error JobEscrowFeeTooLow(uint256 modelId, uint256 price, uint256 minFee);
    /// @notice The deadline is not in (now, now + maxJobDuration].
    error JobEscrowInvalidDeadline(uint256 deadline, uint256 latest);
    /// @notice The inline input is empty.
    error JobEscrowEmptyInput();
    /// @notice The inline input is larger than `maxInputBytes`.
    error JobEscrowInputTooLarge(uint256 size, uint256 maxSize);
    /// @notice The input URI is empty or longer than MAX_URI_BYTES.
    error JobEscrowInvalidInputUri(uint256 length, uint256 maxLength);
    /// @notice A URI input needs the keccak256 of its canonical bytes.
    error JobEscrowZeroInputHash();
    /// @notice The requested callback gas is above `maxCallbackGasLimit`.
    error JobEscrowCallbackGasTooHigh(uint256 callbackGasLimit, uint256 maxCallbackGasLimit);
    /// @notice A callback was asked for, but the requester has no code to call.
    error JobEscrowCallbackRequiresContract(address requester);
    /// @notice The token delivered less than was sent (fee-on-transfer tokens are not supported).
    error JobEscrowTransferShortfall(uint256 expected, uint256 received);
    /// @notice The job's deadline has passed.
    error JobEscrowDeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice The worker's submission window has closed.
    error JobEscrowSubmissionWindowClosed(uint256 jobId, uint256 windowEnd);
    /// @notice Only the job's worker may do this.
    error JobEscrowNotWorker(uint256 jobId, address account);
    /// @notice The output is empty.
    error JobEscrowEmptyOutput(uint256 jobId);
    /// @notice The output is larger than `maxOutputBytes`.
    error JobEscrowOutputTooLarge(uint256 jobId, uint256 size, uint256 maxSize);
    /// @notice Only jobs on Optimistic models can be challenged.
    error JobEscrowNotOptimistic(uint256 jobId);
    /// @notice Only jobs on Proven models can be proven wrong by `proveFraud`.
    error JobEscrowNotProven(uint256 jobId);
    /// @notice The challenge window has closed.
    error JobEscrowChallengeWindowClosed(uint256 jobId, uint256 windowEnd);
    /// @notice Challengers must be staked verifiers and neither the job's worker nor its requester.
    error JobEscrowInvalidChallenger(uint256 jobId, address account);
    /// @notice The account does not hold that seat on the job's committee (or there is no such seat).
    error JobEscrowNotCommitteeMember(uint256 jobId, address account, uint256 seat);
    /// @notice The seat's vote is not in the state this step needs.
    error JobEscrowInvalidVoteState(uint256 jobId, address verifier, VoteState current);
    /// @notice A commitment of zero.
    error JobEscrowZeroCommitment();
    /// @notice The commit window has closed.
    error JobEscrowCommitWindowClosed(uint256 jobId, uint256 commitEnd);
    /// @notice The seed the job's committee is drawn from does not exist yet: `ticket` of the randomness source.
    error JobEscrowSeedPending(uint256 jobId, uint256 ticket);
    /// @notice Reveals start when the commit window closes or every member has committed.
    error JobEscrowRevealNotOpen(uint256 jobId, uint256 commitEnd);
    /// @notice The reveal window has closed.
    error JobEscrowRevealWindowClosed(uint256 jobId, uint256 revealEnd);
    /// @notice The revealed vote and salt do not match the commitment the verifier's seat committed.
    error JobEscrowCommitmentMismatch(uint256 jobId, address verifier);
    /// @notice The sealed commitments passed to a reveal are not the job's, in the order they were committed.
    error JobEscrowCommitmentsMismatch(uint256 jobId);
    /// @notice The job cannot be settled yet; `readyAt` is the earliest time it can.
    error JobEscrowNotSettleable(uint256 jobId, JobStatus current, uint256 readyAt);
    /// @notice The job has a callback and was accepted: settle must be given its output.
    error JobEscrowOutputRequired(uint256 jobId);
    /// @notice The output given does not hash to the job's posted output.
    error JobEscrowOutputMismatch(uint256 jobId);
    /// @notice Not enough gas left to give the consumer callback exactly its gas limit.
    error JobEscrowInsufficientGasForCallback(uint256 jobId, uint256 gasLeft, uint256 needed);
    /// @notice Not enough gas left to give the randomness source its whole gas allowance for a committee draw.
    error JobEscrowInsufficientGasForDraw(uint256 jobId, uint256 gasLeft, uint256 needed);
    /// @notice An inline input's size differs from the one the model's latest version declares (`JobTerms.inputSize`).
    error JobEscrowInputSizeMismatch(uint256 modelId, uint256 size, uint256 expected);
    /// @notice A deposit of zero.
    error JobEscrowZeroDeposit();
    /// @notice The account has no credited balance.
    error JobEscrowNothingToWithdraw(address account);
    /// @notice A governance parameter outside its bounds.
    error JobEscrowInvalidParam(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @notice The dispute window would outlast the staking contract's unbonding period.
    error JobEscrowDisputeWindowExceedsUnbonding(uint256 disputeWindow, uint256 unbondingPeriod);
    /// @notice A zero address where an address is needed.
    error JobEscrowZeroAddress();
    /// @notice The staking contract stakes a different token.
    error JobEscrowTokenMismatch(address token, address stakingToken);
    /// @notice Too few eligible verifiers besides the job's worker, requester and model owner to draw the committee
    /// the job may need (`needed`: its committee size, plus one for an optimistic job's challenger).
    error JobEscrowNotEnoughVerifiers(uint256 jobId, uint256 eligible, uint256 needed);
    /// @notice The randomness source has no code, reverts, or does not return a seed within its gas allowance.
    error JobEscrowRandomnessSourceUnusable(address source);
    /// @notice No randomness source has been announced.
    error JobEscrowRandomnessNotAnnounced();
    /// @notice The announced randomness source cannot be activated before `readyAt`.
    error JobEscrowRandomnessNoticePending(address source, uint256 readyAt);
    /// @notice Two arrays of a batch call differ in length (`jobs` items against `items`), or the batch is empty.
    error JobEscrowInvalidBatch(uint256 jobs, uint256 items);

    /// @notice Requests an inference on `modelId` under the terms the requester agreed to, with the input inline.
    /// @dev `agreed` is the registry's snapshot as the requester read it (`IModelRegistry.jobTerms`): the model's
    /// owner, latest version and its content hash, price, verification mode, committee size, tolerances and
    /// royalty. The request reverts with JobEscrowTermsChanged unless it is still the snapshot (compared by
    /// `IModelRegistry.jobTermsHash`), so no owner can change a pending request's model, price or verification
    /// under it, not even by a transaction placed ahead of it in the same block. The fee, `agreed.terms.price`, is
    /// taken from the caller's balance in the escrow when it covers the fee (deposits, refunds and earnings alike:
    /// see `deposit`), and otherwise pulled from the caller's tokens, in full. The job snapshots the agreed terms,
    /// the fee shares and the parameters' version, so later changes never affect it.
    /// Requirements: not paused; model exists and is not deprecated; `agreed` is its current snapshot;
    /// price >= minFee; 0 < input length <= maxInputBytes; the input length is `agreed.inputSize` when that is not
    /// 0 (JobEscrowInputSizeMismatch: the version declares a signature, IModelRegistry.registerModel);
    /// now < `deadline` <= now + maxJobDuration; `callbackGasLimit` <= maxCallbackGasLimit, and if > 0 the caller
    /// is a contract implementing IInferenceConsumer; a balance covering the fee, or allowance given and the token
    /// delivering the full amount.
    /// @param agreed The terms the requester agreed to (pass `jobTerms(modelId)` as read when deciding).
    /// @param input Canonical tensor bytes (see the TypeScript codec).
    /// @return jobId The new job's id: the hash of its fixed fields, this chain and this escrow (see `Job.id`).
    function requestInference(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        bytes calldata input,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 jobId);

    /// @notice Requests an inference whose input is too large for calldata: it is fetched from `inputUri` and
    /// must hash (keccak256 of the canonical bytes) to `inputHash`.
    /// @dev As `requestInference`, with 0 < URI length <= MAX_URI_BYTES and `inputHash` non-zero instead of the
    /// input size checks (workers check a fetched input against the version's signature).
    function requestInferenceByUri(
        uint256 modelId,
        IModelRegistry.JobTerms calldata agreed,
        string calldata inputUri,
        bytes32 inputHash,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 jobId);

    /// @notice Claims a requested job, locking `job.collateral` of the caller's free stake.
    /// @dev Requirements: not paused; `job` matches; status Requested; now <= deadline; enough free stake; for an
    /// Optimistic or Committee job (not None or Proven), a committee could be drawn now
    /// (`JobEscrowNotEnoughVerifiers`: its size in eligible verifiers besides the caller, the requester and the model
    /// owner, one more for Optimistic).
    /// The worker must submit by min(now + submissionWindow, deadline).
    function claim(Job calldata job) external;

    /// @notice Posts a job's output. A job still Requested is claimed in the same transaction.
    /// @dev None mode settles at once (and runs the callback); Optimistic opens the challenge window; Proven too
    /// (its output holds the output vector and every hidden vector, docs/FRAUD-PROOFS.md, and `proveFraud` is
    /// its challenge);
    /// Committee asks the randomness source for a seed and moves to Drawing: the committee is drawn later
    /// (`drawCommittee`), from a seed that did not exist when this was sent. Claiming in the same transaction is
    /// refused as `claim` refuses it, and when the randomness source fails (`JobEscrowRandomnessSourceUnusable`);
    /// a job claimed earlier whose source fails at submission is refunded Inconclusive, with no slash.
    /// Requirements: `job` matches; either the caller's claim with its window open, or (not paused) an open
    /// job before its deadline; 0 < output length <= maxOutputBytes.
    function submitResult(Job calldata job, bytes calldata output) external;

    /// @notice `submitResult` for several jobs in one transaction; all or nothing.
    /// @dev Requirements: arrays of equal, non-zero length; each item as in `submitResult`.
    function submitResults(Job[] calldata jobs, bytes[] calldata outputs) external;

    /// @notice Proves a Proven job's posted result wrong in one transaction (docs/FRAUD-PROOFS.md, "The judge"):
    /// the judge (`ProvenJudge`) recomputes the neuron of `leaf` from the posted vector before it and convicts when
    /// the posted value differs, or when the posted output is not laid out as the profile says. The job ends
    /// Rejected: the worker's whole collateral is slashed; the requester gets the fee back and `compensationBps`
    /// of the slash; the caller gets `verifierRewardBps` of it (`Settlement.challengerPayment`); the treasury the
    /// rest. Anyone may call, with no bond: a proof that fails reverts with the judge's named error and costs only
    /// its gas.
    /// @dev Requirements: `job` matches; Proven (JobEscrowNotProven); status Submitted; now <= the end of the
    /// challenge window (JobEscrowChallengeWindowClosed). Then the judge's (`ProvenJudge`): `evidence` is
    /// `abi.encode(bytes input, bytes output, bytes leaf, bytes32[] proof)` (ProvenEvidenceMalformed); `output` is
    /// the posted output (ProvenOutputMismatch); `leaf` is in the version's weightsRoot with `proof`
    /// (ProvenLeafNotInModel) and is a profile leaf (ProvenLeafMalformed); for a neuron of layer 1, `input` is the
    /// job's input (ProvenInputMismatch; otherwise `input` is ignored and may be empty); and the result is wrong at
    /// that neuron (ProvenNeuronCorrect). Emits FraudProven, then JobSettled. The four parts travel as one
    /// ABI-encoded blob so the escrow decodes nothing new (its code size); the judge reads them in place.
    /// @param evidence `abi.encode(input, output, leaf, proof)`: the job's input (inline in JobRequested, or
    /// fetched from its URI; needed for a neuron of layer 1 only); the posted output (ResultSubmitted: the output
    /// vector and every hidden vector); the neuron's leaf (its layer, index, widths, requantization, bias and
    /// weight column); the leaf's Merkle proof in the version's weightsRoot.
    function proveFraud(Job calldata job, bytes calldata evidence) external;

    /// @notice Challenges an optimistic result, posting a bond of max(`challengeBond`, `job.fee`) and escalating
    /// to a committee vote. A rejection returns the bond with a reward; an acceptance forfeits it; a vote with no
    /// majority refunds the requester and pays the worker out of it (`Settlement.workerPayment`), so a challenge
    /// that proves nothing never costs the worker.
    /// @dev Requirements: `job` matches; Optimistic; status Submitted; challenge window open; caller is an
    /// opted-in verifier with stake, neither the worker nor the requester; allowance for the bond. The job moves
    /// to Drawing, as a Committee submission does. A challenge in time is always judged: when no committee can be
    /// drawn (a failing randomness source, now or until the draw window closes, or too few eligible verifiers
    /// besides the worker, requester, model owner and challenger at the draw) the job settles Inconclusive: the
    /// requester is refunded, the bond returned and nobody slashed.
    function challenge(Job calldata job) external;

    /// @notice Draws the committees of jobs in Drawing, each from the seed of its randomness ticket; anyone may
    /// call. A committee excludes the job's worker, requester, model owner and challenger; its commit window and
    /// then its reveal window run from now (CommitteeDrawn). When too few verifiers are eligible the job settles
    /// Inconclusive at once, with no slash. Jobs that cannot be drawn now are skipped; when none can, the call
    /// reverts with the first job's reason.
    /// A job is drawn whenever its seed exists, even after its draw window: only a job whose seed never came may be
    /// settled undrawn (`settle`), so nobody escapes a vote by not drawing.
    /// @dev Requirements: a non-empty array; each `jobs[i]` matches its record; for at least one: status Drawing
    /// (else `JobEscrowInvalidStatus`) and the seed exists (`JobEscrowSeedPending`); enough gas for the randomness
    /// source's allowance (`JobEscrowInsufficientGasForDraw`).
    /// @return drawn How many jobs left Drawing (drawn, or settled Inconclusive for too few verifiers).
    function drawCommittees(Job[] calldata jobs) external returns (uint256 drawn);

    /// @notice Commits a hidden vote for the caller's seat: `commitment` = `voteCommitment(jobId, msg.sender,
    /// agree, salt)`.
    /// @dev The escrow keeps no commitment of its own: it folds `sealCommitment(seat, commitment)` into one
    /// running hash per job, and the reveal shows the sealed commitments again (from the VoteCommitted events).
    /// Requirements: status Voting; `seat` is the caller's seat on the committee (its index in
    /// `CommitteeDrawn.committee`) and has not committed; commit window open; `commitment` non-zero.
    function commitVote(uint256 jobId, uint256 seat, bytes32 commitment) external;

    /// @notice `commitVote` for several jobs in one transaction (a verifier sitting on several committees
    /// saves the 21k base cost of each further transaction); all or nothing.
    /// @dev Requirements: arrays of equal, non-zero length; each item as in `commitVote`.
    function commitVotes(uint256[] calldata jobIds, uint256[] calldata seats, bytes32[] calldata commitments) external;

    /// @notice Reveals the vote committed for the caller's seat. `agree` says whether the verifier's own
    /// re-execution matched the posted output within the model's tolerance.
    /// @param sealedCommitments Every commitment of the job, sealed with its seat
    /// (`sealCommitment(seat, commitment)` of each VoteCommitted event), in the order they were committed.
    /// @dev Requirements: status Voting; the caller holds `seat`, which has committed; the commit window has
    /// closed or every seat has committed; the reveal window is open; `sealedCommitments` are the job's
    /// (JobEscrowCommitmentsMismatch); `agree` and `salt` open the seat's commitment (JobEscrowCommitmentMismatch).
    function revealVote(
        uint256 jobId,
        uint256 seat,
        bool agree,
        bytes32 salt,
        bytes32[] calldata sealedCommitments
    ) external;

    /// @notice `revealVote` for several jobs in one transaction; all or nothing.
    /// @dev Requirements: arrays of equal, non-zero length; each item as in `revealVote`.
    function revealVotes(
        uint256[] calldata jobIds,
        uint256[] calldata seats,
        bool[] calldata agrees,
        bytes32[] calldata salts,
        bytes32[][] calldata sealedCommitments
    ) external;

    /// @notice Brings a job to its terminal state once it is due; anyone may call.
    /// @dev Due when: Requested past its deadline (Expired: full refund); Claimed past its submission window
    /// (Abandoned: requester refunded and compensated from the partly slashed collateral); Submitted past its
    /// challenge window (Accepted); Drawing past its draw window (its committee is drawn when its seed exists, and
    /// the job goes to a vote, so nobody ends a job undrawn by not drawing it; Inconclusive, no committee, when the
    /// seed never came); Voting after the reveal window or once every seat revealed (tally).
    /// Requirements: `job` matches; the job is due (JobEscrowNotSettleable otherwise); when it has a
    /// callback and is accepted, `output` is the posted output (else `output` may be empty, and if given must
    /// match); enough gas for the callback's exact gas limit.
    function settle(Job calldata job, bytes calldata output) external;

    /// @notice Settles every due job of a batch and skips the others (terminal, or windows still open).
    /// @dev Requirements: arrays of equal, non-zero length; each `jobs[i]` matches its record.
    /// @return settled How many jobs were due: each reached a terminal state, or (a job in Drawing whose seed
    /// exists) went to a vote.
    function settleBatch(Job[] calldata jobs, bytes[] calldata outputs) external returns (uint256 settled);

    /// @notice Pays `amount` tokens into the caller's balance in the escrow, which its requests then draw on
    /// without a token transfer each (a request takes its fee from the balance whenever the balance covers it).
    /// @dev The balance is the one `withdraw` pays out: unspent deposits, refunds and earnings are withdrawn
    /// together. Requirements: `amount` > 0; allowance given; the token delivers the full amount.
    function deposit(uint256 amount) external;

    /// @notice Pays the caller everything credited to it.
    /// @dev Requirements: a non-zero balance.
    function withdraw() external returns (uint256 amount);

    /// @notice Sets new governance parameters for jobs requested from now on, as a new version (`paramsId`).
    /// @dev Jobs already requested keep the version they were requested under, so no change of windows, slash
    /// shares, penalty or bond reaches a job in flight. `maxDisputeWindow` is the longest window of any version.
    /// Requirements: caller is the owner; every field within its bounds (EscrowParamsLib); the dispute window
    /// (submission + challenge + draw + commit + reveal; the draw window is as long as the commit window) no longer
    /// than the staking contract's unbonding period.
    function setParams(EscrowParams calldata newParams) external;

    /// @notice Sets where protocol fees and the treasury's share of slashes are credited.
    /// @dev Requirements: caller is the owner; non-zero.
    function setTreasury(address newTreasury) external;

    /// @notice Announces `next` as the committee randomness source. It can be activated after the staking
    /// contract's exit notice and unbonding period plus a day, so that verifiers, stakers and requesters who
    /// distrust it can leave first;
    /// a later announcement replaces this one and restarts the notice.
    /// @dev Requirements: caller is the owner; `next` answers `seedOf` (else
    /// `JobEscrowRandomnessSourceUnusable`).
    function announceRandomnessSource(IRandomnessSource next) external;

    /// @notice Makes the announced source the committee randomness source.
    /// @dev Requirements: caller is the owner; an announcement (`JobEscrowRandomnessNotAnnounced`) whose notice
    /// has run out (`JobEscrowRandomnessNoticePending`); the source still answers `seedOf`.
    function activateRandomnessSource() external;

    /// @notice Stops new requests and claims; refunds, submissions of claimed jobs, verification, settlement
    /// and withdrawals go on. Requirements: caller is the owner.
    function pause() external;

    /// @notice Lifts a pause. Requirements: caller is the owner.
    function unpause() external;

    /// @notice The fee and stake token.
    function token() external view returns (IERC20);

    /// @notice The model registry.
    function registry() external view returns (IModelRegistry);

    /// @notice The staking contract.
    function staking() external view returns (IVerifierStaking);

    /// @notice The committee randomness source.
    function randomnessSource() external view returns (IRandomnessSource);

    /// @notice The announced randomness source and when it can be activated (zero address and 0: none).
    function nextRandomnessSource() external view returns (IRandomnessSource source, uint256 readyAt);

    /// @notice Where protocol fees are credited.
    function treasury() external view returns (address);

    /// @notice The governance parameters in force: new jobs run under them.
    function params() external view returns (EscrowParams memory);

    /// @notice The id of the parameters in force (versions are numbered from 1, one per `setParams`).
    function paramsId() external view returns (uint256);

    /// @notice A version of the parameters; `job.paramsId` names the one a job runs under.
    function paramsOf(uint256 paramsId) external view returns (EscrowParams memory);

    /// @notice Number of jobs requested: the last job's `nonce`.
    function jobCount() external view returns (uint256);

    /// @notice The id a job with these fixed fields has on this escrow and chain (whatever `job.id` says): see
    /// `Job.id`.
    function jobIdOf(Job calldata job) external view returns (uint256);

    /// @notice A job's mutable state. Reverts with JobEscrowUnknownJob for an unknown id.
    function jobState(uint256 jobId) external view returns (JobState memory);

    /// @notice keccak256 of a job's posted output; zero before submission.
    /// @dev Also zero for a None job without a callback: it settles in its submission, nothing is settled or
    /// disputed against its output afterwards, so the escrow does not store the hash (its `ResultSubmitted` carries
    /// it, and the output). A None job with a callback keeps it, for its consumer (see ExampleConsumer.acceptOutput).
    function outputHash(uint256 jobId) external view returns (bytes32);

    /// @notice A job's committee seats and votes; empty when no committee was drawn.
    function committee(uint256 jobId) external view returns (Seat[] memory seats);

    /// @notice A job's challenge; zero when it was not challenged.
    function challengeOf(uint256 jobId) external view returns (Challenge memory);

    /// @notice What `account` can withdraw.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Whether `settle(job, …)` would bring the job to a terminal state now.
    function isSettleable(Job calldata job) external view returns (bool);

    /// @notice The commitment a verifier posts for a vote: binds job (and through its id this escrow and chain),
    /// verifier, vote and a secret salt.
    function voteCommitment(uint256 jobId, address verifier, bool agree, bytes32 salt) external pure returns (bytes32);

    /// @notice A commitment as a reveal passes it: sealed with the seat that committed it, so that no seat can
    /// open a commitment another seat made.
    function sealCommitment(uint256 seat, bytes32 commitment) external pure returns (bytes32);
}
