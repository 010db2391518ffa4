// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PackedCommittee} from "../libraries/PackedCommittee.sol";

/// @notice Exposes PackedCommittee over one committee's storage for test/libraries/PackedCommittee.test.ts; it
/// has no other use.
contract PackedCommitteeHarness {
    mapping(uint256 word => uint256 packed) private _words;

    function store(address[] calldata members) external {
        PackedCommittee.store(_words, members);
    }

    function load(uint256 size) external view returns (address[] memory) {
        return PackedCommittee.load(_words, size);
    }

    function memberAt(uint256 seat) external view returns (address) {
        return PackedCommittee.memberAt(_words, seat);
    }

    function wordAt(uint256 index) external view returns (uint256) {
        return _words[index];
    }

    function wordCount(uint256 size) external pure returns (uint256) {
        return PackedCommittee.wordCount(size);
    }
}
