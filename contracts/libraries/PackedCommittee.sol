// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PackedCommittee
/// @notice A drawn committee's addresses, 20 bytes each, back to back from the start of word 0 of a mapping:
/// a committee of 3 takes 2 words instead of 3. Written once, when drawn; reading one seat reads only the
/// word(s) its 20 bytes lie in.
library PackedCommittee {
    /// @notice Writes `members` into `words`, 20 bytes each.
    function store(mapping(uint256 word => uint256 packed) storage words, address[] memory members) internal {
        uint256 count = wordCount(members.length);
        // One spare word: each address is written as a whole word whose low 12 bytes the next address overwrites.
        bytes memory packed = new bytes((count + 1) * 32);
        for (uint256 i; i < members.length; ++i) {
            address member = members[i];
            assembly ("memory-safe") {
                mstore(add(add(packed, 0x20), mul(i, 20)), shl(96, member))
            }
        }
        for (uint256 w; w < count; ++w) {
            uint256 word;
            assembly ("memory-safe") {
                word := mload(add(add(packed, 0x20), shl(5, w)))
            }
            words[w] = word;
        }
    }

    /// @notice The first `size` addresses in `words`.
    function load(
        mapping(uint256 word => uint256 packed) storage words,
        uint256 size
    ) internal view returns (address[] memory members) {
        members = new address[](size);
        if (size == 0) return members;
        uint256 count = wordCount(size);
        bytes memory packed = new bytes((count + 1) * 32);
        for (uint256 w; w < count; ++w) {
            uint256 word = words[w];
            assembly ("memory-safe") {
                mstore(add(add(packed, 0x20), shl(5, w)), word)
            }
        }
        for (uint256 i; i < size; ++i) {
            address member;
            assembly ("memory-safe") {
                member := shr(96, mload(add(add(packed, 0x20), mul(i, 20))))
            }
            members[i] = member;
        }
    }

    /// @notice The address in `seat`, from the one or two words its 20 bytes span.
    function memberAt(
        mapping(uint256 word => uint256 packed) storage words,
        uint256 seat
    ) internal view returns (address) {
        uint256 first = (seat * 20) >> 5;
        uint256 offset = (seat * 20) & 31; // byte offset of the address within `first`
        uint256 high = words[first] << (offset * 8);
        if (offset > 12) high |= words[first + 1] >> ((32 - offset) * 8);
        return address(uint160(high >> 96));
    }

    /// @notice Words a committee of `size` takes.
    function wordCount(uint256 size) internal pure returns (uint256) {
        return (size * 20 + 31) >> 5;
    }
}
