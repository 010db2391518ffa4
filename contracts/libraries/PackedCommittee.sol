// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {VoteWord, VoteWordLib} from "./VoteWord.sol";

/// @title PackedCommittee
/// @notice A drawn committee's members as their leaves in the staking contract's sum tree (32 bits each, which
/// stand for the same account for good): the first three in the committee's vote word (VoteWord), the others
/// eight to a word of a mapping. A committee of up to three takes no word of its own, so drawing it writes one
/// word (the vote word, which its first commit would write anyway) instead of a word per 1.6 addresses.
library PackedCommittee {
    uint256 private constant PER_WORD = 8;
    uint256 private constant LEAF_MASK = (1 << 32) - 1;

    /// @notice Writes the leaves of the seats after the vote word's (`leaves[3:]`) into `words`.
    function storeRest(mapping(uint256 word => uint256 packed) storage words, uint256[] memory leaves) internal {
        uint256 first = VoteWordLib.SEATS_IN_WORD;
        if (leaves.length <= first) return;
        uint256 packed;
        for (uint256 i = first; i < leaves.length; ++i) {
            uint256 k = i - first;
            packed |= (leaves[i] & LEAF_MASK) << (32 * (k % PER_WORD));
            if (k % PER_WORD == PER_WORD - 1 || i == leaves.length - 1) {
                words[k / PER_WORD] = packed;
                packed = 0;
            }
        }
    }

    /// @notice The leaf of the member in `seat`: from `votes` for the first three seats, else from `words`.
    function leafAt(
        VoteWord votes,
        mapping(uint256 word => uint256 packed) storage words,
        uint256 seat
    ) internal view returns (uint256) {
        if (seat < VoteWordLib.SEATS_IN_WORD) return votes.leafAt(seat);
        uint256 k = seat - VoteWordLib.SEATS_IN_WORD;
        return (words[k / PER_WORD] >> (32 * (k % PER_WORD))) & LEAF_MASK;
    }

    /// @notice The leaves of the first `size` seats.
    function leaves(
        VoteWord votes,
        mapping(uint256 word => uint256 packed) storage words,
        uint256 size
    ) internal view returns (uint256[] memory result) {
        result = new uint256[](size);
        uint256 packed;
        for (uint256 seat; seat < size; ++seat) {
            if (seat < VoteWordLib.SEATS_IN_WORD) {
                result[seat] = votes.leafAt(seat);
                continue;
            }
            uint256 k = seat - VoteWordLib.SEATS_IN_WORD;
            if (k % PER_WORD == 0) packed = words[k / PER_WORD];
            result[seat] = (packed >> (32 * (k % PER_WORD))) & LEAF_MASK;
        }
    }

    /// @notice Words of the mapping a committee of `size` takes (the vote word not counted).
    function wordCount(uint256 size) internal pure returns (uint256) {
        return size <= VoteWordLib.SEATS_IN_WORD ? 0 : (size - VoteWordLib.SEATS_IN_WORD + PER_WORD - 1) / PER_WORD;
    }
}
