// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";

/// @notice A committee's votes in one word: the seats' vote states (`IJobEscrow.VoteState`, 2 bits each, seat i
/// at bits 2i..2i+1) in the low 32 bits, and above them a running hash of the sealed commitments in the order
/// they were made (the high 224 bits of keccak256(previous, sealed)). A commit or a reveal writes only this word;
/// a reveal proves its commitment against the running hash instead of reading a stored commitment.
type VoteWord is uint256;

using VoteWordLib for VoteWord global;

/// @title VoteWordLib
/// @notice Reads and writes the vote states and the commitment chain of a `VoteWord`. Seats are 0 to 15.
library VoteWordLib {
    /// @dev Bits of the vote states; the commitment chain lies above them.
    uint256 private constant STATE_BITS = 32;
    uint256 private constant STATE_MASK = (1 << STATE_BITS) - 1;

    /// @notice The vote state of `seat`.
    function voteAt(VoteWord word, uint256 seat) internal pure returns (IJobEscrow.VoteState) {
        return IJobEscrow.VoteState((VoteWord.unwrap(word) >> (2 * seat)) & 3);
    }

    /// @notice `word` with the vote state of `seat` set to `vote`; the other seats and the chain unchanged.
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
        return VoteWord.unwrap(word) >> STATE_BITS;
    }

    /// @notice `word` with `sealed_` folded into its chain; the vote states unchanged.
    function withCommitment(VoteWord word, bytes32 sealed_) internal pure returns (VoteWord) {
        return VoteWord.wrap((fold(chain(word), sealed_) << STATE_BITS) | (VoteWord.unwrap(word) & STATE_MASK));
    }

    /// @notice One step of the commitment chain: the chain after `sealed_` is folded into `previous`.
    function fold(uint256 previous, bytes32 sealed_) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(previous, sealed_))) >> STATE_BITS;
    }

    /// @dev 0b0101…01 with `size` ones: the low bit of each seat's 2-bit state.
    function _lowBits(uint256 size) private pure returns (uint256) {
        return ((uint256(1) << (2 * size)) - 1) / 3;
    }
}
