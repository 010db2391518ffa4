// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "./IJobEscrow.sol";

/// @title IInferenceConsumer
/// @notice Implemented by contracts that request inferences and want the result pushed to them.
/// @dev The escrow calls `onInferenceResult` once, when the job reaches its terminal state, with exactly the
/// `callbackGasLimit` the job was requested with. The call cannot block settlement: a revert, an out-of-gas or
/// a huge return value only makes the escrow emit `CallbackDelivered(jobId, consumer, false)`. Re-entering the
/// escrow from the callback reverts (the escrow holds its reentrancy lock). A consumer whose callback failed
/// can still read `IJobEscrow.jobState(jobId)` and `IJobEscrow.outputHash(jobId)` and accept the output bytes
/// (from the `ResultSubmitted` event) from anyone after checking their keccak256.
interface IInferenceConsumer {
    /// @notice Receives the end of a job requested by this contract.
    /// @param jobId The job.
    /// @param outcome Accepted: `output` is the verified result (canonical tensor bytes). Any other outcome: the
    /// fee (plus any compensation) was credited back to this contract in the escrow and `output` is empty.
    /// @param output The accepted output; its keccak256 equals `IJobEscrow.outputHash(jobId)`.
    function onInferenceResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) external;
}
