// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRandomnessSource
/// @notice Supplies the seeds from which the escrow draws verifier committees, in two steps: the transaction that
/// needs a committee (a Committee-mode submission, an optimistic challenge) asks for a seed that does not exist
/// yet and gets a ticket; the committee is drawn later, by anyone, from the seed the ticket reads once it exists.
/// So neither the submitter nor the challenger can know the committee when it decides to send.
/// @dev The escrow calls `requestSeed` with 250,000 gas and `seedOf` with 100,000 gas. A `requestSeed` that reverts,
/// needs more or returns a ticket of more than 40 bits draws no committee: the job ends Inconclusive with no slash.
/// A `seedOf` that never becomes ready (or reverts) leaves the job undrawn until its draw window closes; it then
/// settles Inconclusive, with no slash. Governance changes the source only after a notice
/// (`JobEscrow.announceRandomnessSource`), and only to one that answers both calls.
interface IRandomnessSource {
    /// @notice Asks for a seed that nobody can know yet.
    /// @return ticket What `seedOf` reads the seed with; below 2^40.
    function requestSeed() external returns (uint64 ticket);

    /// @notice The seed of `ticket`: (false, 0) while it does not exist yet, then (true, seed). A source may move a
    /// seed it can no longer read to a later value that nobody could know at the request (see BlockhashRandomness).
    function seedOf(uint64 ticket) external view returns (bool ready, uint256 seed);
}
