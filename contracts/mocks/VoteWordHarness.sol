// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {VoteWord, VoteWordLib} from "../libraries/VoteWord.sol";

/// @notice Exposes VoteWordLib on raw words for test/libraries/VoteWord.test.ts; it has no other use.
contract VoteWordHarness {
    function voteAt(uint256 word, uint256 seat) external pure returns (IJobEscrow.VoteState) {
        return VoteWord.wrap(word).voteAt(seat);
    }

    function withVote(uint256 word, uint256 seat, IJobEscrow.VoteState vote) external pure returns (uint256) {
        return VoteWord.unwrap(VoteWord.wrap(word).withVote(seat, vote));
    }

    function allCommitted(uint256 word, uint256 size) external pure returns (bool) {
        return VoteWord.wrap(word).allCommitted(size);
    }

    function allRevealed(uint256 word, uint256 size) external pure returns (bool) {
        return VoteWord.wrap(word).allRevealed(size);
    }

    function chain(uint256 word) external pure returns (uint256) {
        return VoteWord.wrap(word).chain();
    }

    function withCommitment(uint256 word, bytes32 sealed_) external pure returns (uint256) {
        return VoteWord.unwrap(VoteWord.wrap(word).withCommitment(sealed_));
    }

    function seated(uint256[] calldata leaves) external pure returns (uint256) {
        return VoteWord.unwrap(VoteWordLib.seated(leaves));
    }

    function leafAt(uint256 word, uint256 seat) external pure returns (uint256) {
        return VoteWord.wrap(word).leafAt(seat);
    }

    function fold(uint256 previous, bytes32 sealed_) external pure returns (uint256) {
        return VoteWordLib.fold(previous, sealed_);
    }
}
