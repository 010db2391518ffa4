// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PackedCommittee} from "../libraries/PackedCommittee.sol";
import {VoteWord, VoteWordLib} from "../libraries/VoteWord.sol";

/// @notice Exposes PackedCommittee over one committee's storage (its vote word and its words) for
/// test/libraries/PackedCommittee.test.ts; it has no other use.
contract PackedCommitteeHarness {
    VoteWord private _votes;
    mapping(uint256 word => uint256 packed) private _words;

    /// @notice Stores a committee of `leaves` as a draw does.
    function store(uint256[] calldata leaves) external {
        _votes = VoteWordLib.seated(leaves);
        PackedCommittee.storeRest(_words, leaves);
    }

    function leaves(uint256 size) external view returns (uint256[] memory) {
        return PackedCommittee.leaves(_votes, _words, size);
    }

    function leafAt(uint256 seat) external view returns (uint256) {
        return PackedCommittee.leafAt(_votes, _words, seat);
    }

    function votes() external view returns (uint256) {
        return VoteWord.unwrap(_votes);
    }

    function wordAt(uint256 index) external view returns (uint256) {
        return _words[index];
    }

    function wordCount(uint256 size) external pure returns (uint256) {
        return PackedCommittee.wordCount(size);
    }
}
