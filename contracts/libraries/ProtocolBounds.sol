// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ProtocolBounds
/// @notice The bounds the protocol's contracts share, each defined once: the registry, the staking contract and
/// the escrow expose them through their own public constants, which point here.
library ProtocolBounds {
    /// @notice Basis points in a whole: every `...Bps` share is out of this.
    uint256 internal constant BPS = 10_000;
    /// @notice Largest committee a model may ask for and the staking contract can draw. A committee's vote states
    /// fit in the 32 low bits of its vote word (2 bits a seat, see VoteWord), which allows up to 16 seats.
    uint256 internal constant MAX_COMMITTEE_SIZE = 15;
    /// @notice Largest model or input URI, in bytes.
    uint256 internal constant MAX_URI_BYTES = 2048;
}
