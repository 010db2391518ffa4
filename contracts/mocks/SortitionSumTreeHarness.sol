// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SortitionSumTree} from "../libraries/SortitionSumTree.sol";

/// @notice Exposes SortitionSumTree over one tree for test/libraries/SortitionSumTree.test.ts; it has no other use.
/// `skipLeaves` pretends leaves were allocated, to reach the MAX_LEAVES cap without 2^32 accounts.
contract SortitionSumTreeHarness {
    using SortitionSumTree for SortitionSumTree.Tree;

    SortitionSumTree.Tree private _tree;

    function set(address account, uint256 weight) external {
        _tree.set(account, weight);
    }

    function skipLeaves(uint64 count) external {
        _tree.leafCount += count;
    }

    function leafCount() external view returns (uint256) {
        return _tree.leafCount;
    }

    function accountAt(uint256 leaf) external view returns (address) {
        return _tree.accountAt(leaf);
    }
}
