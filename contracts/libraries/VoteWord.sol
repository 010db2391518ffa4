// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";

/// @notice A committee's votes in one word, written when the committee is drawn:
/// - bits 0 to 31: the seats' vote states (`IJobEscrow.VoteState`, 2 bits each, seat i at bits 2i..2i+1);
/// - bits 32 to 127: the first three seats' members, as their leaves in the staking contract's sum tree (32 bits
///   each, seat i at bits 32 + 32i; PackedCommittee keeps the seats after them);
/// - bits 128 to 255: a running hash of the sealed commitments in the order they were made (the high 128 bits of
///   keccak256(previous, sealed)).
/// A commit or a reveal writes only this word; a reveal proves its commitment against the running hash instead of
/// reading a stored commitment. Finding two sealed lists with the same 128-bit hash takes about 2^64 hashes, and a
/// member would have to do it between the previous commitment and its own, within the commit window.
type VoteWord is uint256;

using VoteWordLib for VoteWord global;

/// @title VoteWordLib
/// @notice Reads and writes the vote states, the first members and the commitment chain of a `VoteWord`. Seats are
/// 0 to 15; members are held for seats 0 to 2 (`SEATS_IN_WORD`).
library VoteWordLib {
    /// @notice Seats whose member the word itself holds.
    uint256 internal constant SEATS_IN_WORD = 3;
    /// @dev Bits of the vote states; the members lie above them, then the commitment chain.
    uint256 private constant STATE_BITS = 32;
    uint256 private constant STATE_MASK = (1 << STATE_BITS) - 1;
    /// @dev Where the commitment chain starts; everything below it is states and members.
    uint256 private constant CHAIN_SHIFT = 128;
    uint256 private constant BELOW_CHAIN = (1 << CHAIN_SHIFT) - 1;
    uint256 private constant LEAF_MASK = (1 << 32) - 1;

    /// @notice The word of a committee just drawn: every seat Drawn, no commitment, and the first SEATS_IN_WORD of
    /// `leaves` (each below 2^32) as its first members.
    function seated(uint256[] memory leaves) internal pure returns (VoteWord) {
        uint256 word;
        uint256 n = leaves.length < SEATS_IN_WORD ? leaves.length : SEATS_IN_WORD;
        for (uint256 i; i < n; ++i) word |= (leaves[i] & LEAF_MASK) << (STATE_BITS + 32 * i);
        return VoteWord.wrap(word);
    }

    /// @notice The leaf of the member in `seat`, one of the first SEATS_IN_WORD.
    function leafAt(VoteWord word, uint256 seat) internal pure returns (uint256) {
        return (VoteWord.unwrap(word) >> (STATE_BITS + 32 * seat)) & LEAF_MASK;
    }

    /// @notice The vote state of `seat`.
    function voteAt(VoteWord word, uint256 seat) internal pure returns (IJobEscrow.VoteState) {
        return IJobEscrow.VoteState((VoteWord.unwrap(word) >> (2 * seat)) & 3);
    }

    /// @notice `word` with the vote state of `seat` set to `vote`; the other seats, the members and the chain
    /// unchanged.
    function withVote(VoteWord word, uint256 seat, IJobEscrow.VoteState vote) internal pure returns (VoteWord) {
        uint256 shift = 2 * seat;
        return VoteWord.wrap((VoteWord.unwrap(word) & ~(uint256(3) << shift)) | (uint256(vote) << shift));
    }

    /// @notice Whether every one of the first `size` seats has left Drawn: each 2-bit state is non-zero.
    function allCommitted(VoteWord word, uint256 size) internal pure returns (bool) {
        uint256 states = VoteWord.unwrap(word) & STATE_MASK;
        uint256 lowBits = _lowBits(size);
        return ((states | (states >> 1)) & lowBits) == lowBits;
    }

    /// @notice Whether every one of the first `size` seats has revealed: each 2-bit state is Agreed (2) or
    /// Disagreed (3).
    function allRevealed(VoteWord word, uint256 size) internal pure returns (bool) {
        uint256 lowBits = _lowBits(size);
        return (((VoteWord.unwrap(word) & STATE_MASK) >> 1) & lowBits) == lowBits;
    }

    /// @notice The running hash of the sealed commitments made so far (0 before the first).
    function chain(VoteWord word) internal pure returns (uint256) {
        return VoteWord.unwrap(word) >> CHAIN_SHIFT;
    }

    /// @notice `word` with `sealed_` folded into its chain; the vote states and the members unchanged.
    function withCommitment(VoteWord word, bytes32 sealed_) internal pure returns (VoteWord) {
        return VoteWord.wrap((fold(chain(word), sealed_) << CHAIN_SHIFT) | (VoteWord.unwrap(word) & BELOW_CHAIN));
    }

    /// @notice One step of the commitment chain: the chain after `sealed_` is folded into `previous`.
    function fold(uint256 previous, bytes32 sealed_) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(previous, sealed_))) >> CHAIN_SHIFT;
    }

    /// @dev 0b0101…01 with `size` ones: the low bit of each seat's 2-bit state.
    function _lowBits(uint256 size) private pure returns (uint256) {
        return ((uint256(1) << (2 * size)) - 1) / 3;
    }
}
