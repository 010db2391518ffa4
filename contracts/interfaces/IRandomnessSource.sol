// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRandomnessSource
/// @notice Supplies the seed from which a job's verifier committee is drawn.
/// @dev The escrow asks for a seed in the transaction that draws the committee (a committee-mode submission or
/// an optimistic challenge). A source that can be predicted or steered by the party sending that transaction
/// lets it pick its committee: see `PrevrandaoRandomness` for the limits of the default. The escrow gives
/// `randomSeed` 100,000 gas; a source that reverts, needs more or returns less than a word draws no committee,
/// which ends the job Inconclusive with no slash (a refund). Governance changes the source only after a notice
/// (`JobEscrow.announceRandomnessSource`), and only to one that answers.
interface IRandomnessSource {
    /// @notice A seed for the committee of job `jobId`, drawn in the current block.
    function randomSeed(uint256 jobId) external view returns (uint256);
}
