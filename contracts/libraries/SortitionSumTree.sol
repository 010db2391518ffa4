// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SortitionSumTree
/// @notice A binary sum tree over weighted accounts, for drawing k distinct accounts weighted by their weight in
/// O(k log n) storage reads.
/// @dev Leaves are allocated left to right and kept by their account for good (a zero weight keeps its leaf),
/// so n is the number of accounts ever given a weight. The tree grows by doubling: when the leaves outgrow
/// the capacity 2^height, a new root is placed above the old one. Node (level, index) covers leaves
/// [index << level, (index + 1) << level) and holds the sum of their weights; the root is (height, 0).
///
/// Drawing without replacement needs no storage writes: drawn (and excluded) leaves are kept in memory and
/// their weights subtracted from every node read on the way down, so a draw is a pure view.
library SortitionSumTree {
    /// @notice Leaves a tree can hold: a leaf index fits in 32 bits, which is how an escrow stores a committee seat.
    uint256 internal constant MAX_LEAVES = 1 << 32;

    /// @notice Every one of the MAX_LEAVES leaves has been allocated.
    error SortitionSumTreeFull();

    struct Tree {
        // The counters share one storage word: a draw reads them with one SLOAD.
        uint64 leafCount;
        uint64 height;
        uint64 nonZeroLeaves;
        // Not read or written by this library: a count its user keeps of some of the non-zero leaves (the staking
        // contract's leaving verifiers), here so that reading it with `nonZeroLeaves` costs no other storage read.
        uint64 marked;
        mapping(uint256 node => uint256 sum) sums;
        mapping(address account => uint256 leafPlusOne) leafOf;
        mapping(uint256 leaf => address account) accountOf;
    }

    /// @notice The weight of `account`, zero when it has none.
    function weightOf(Tree storage tree, address account) internal view returns (uint256) {
        uint256 leafPlusOne = tree.leafOf[account];
        return leafPlusOne == 0 ? 0 : tree.sums[_node(0, leafPlusOne - 1)];
    }

    /// @notice The sum of all weights.
    function total(Tree storage tree) internal view returns (uint256) {
        return tree.sums[_node(tree.height, 0)];
    }

    /// @notice Sets the weight of `account`, allocating its leaf on first use.
    function set(Tree storage tree, address account, uint256 weight) internal {
        uint256 leafPlusOne = tree.leafOf[account];
        uint256 leaf;
        if (leafPlusOne == 0) {
            if (weight == 0) return;
            leaf = tree.leafCount++;
            if (leaf >= MAX_LEAVES) revert SortitionSumTreeFull();
            tree.leafOf[account] = leaf + 1;
            tree.accountOf[leaf] = account;
            uint256 height = tree.height;
            if (leaf == 1 << height) {
                // The tree is full: the old root becomes the left child of a new root one level up.
                tree.sums[_node(height + 1, 0)] = tree.sums[_node(height, 0)];
                tree.height = uint64(height + 1);
            }
        } else {
            leaf = leafPlusOne - 1;
        }
        uint256 previous = tree.sums[_node(0, leaf)];
        if (previous == weight) return;
        if (previous == 0) ++tree.nonZeroLeaves;
        else if (weight == 0) --tree.nonZeroLeaves;

        uint256 top = tree.height;
        if (weight > previous) {
            uint256 delta = weight - previous;
            for (uint256 level; level <= top; ++level) {
                tree.sums[_node(level, leaf >> level)] += delta;
            }
        } else {
            uint256 delta = previous - weight;
            for (uint256 level; level <= top; ++level) {
                tree.sums[_node(level, leaf >> level)] -= delta;
            }
        }
    }

    /// @notice The account of `leaf` (zero for a leaf not allocated).
    function accountAt(Tree storage tree, uint256 leaf) internal view returns (address) {
        return tree.accountOf[leaf];
    }

    /// @notice Draws up to `count` distinct leaves with probability proportional to their weight, never the leaf
    /// of one of `excluded`. A leaf stands for its account for good (`accountAt`).
    /// @dev Returns an empty list, and how many accounts were eligible, when fewer than `count` are.
    /// Each draw i uses keccak256(seed, i) modulo the remaining weight; the modulo bias is below
    /// total / 2^256.
    function draw(
        Tree storage tree,
        uint256 seed,
        uint256 count,
        address[] memory excluded
    ) internal view returns (uint256[] memory drawn, uint256 eligible) {
        Removed memory removed = Removed({
            leaves: new uint256[](excluded.length + count),
            weights: new uint256[](excluded.length + count),
            length: 0
        });
        uint256 remaining = total(tree);
        eligible = tree.nonZeroLeaves;

        for (uint256 i; i < excluded.length; ++i) {
            uint256 leafPlusOne = tree.leafOf[excluded[i]];
            if (leafPlusOne == 0 || _contains(removed, leafPlusOne - 1)) continue;
            uint256 weight = tree.sums[_node(0, leafPlusOne - 1)];
            if (weight == 0) continue;
            _remove(removed, leafPlusOne - 1, weight);
            remaining -= weight;
            --eligible;
        }
        if (eligible < count) return (new uint256[](0), eligible);

        drawn = new uint256[](count);
        uint256 height = tree.height;
        for (uint256 i; i < count; ++i) {
            uint256 target = uint256(keccak256(abi.encode(seed, i))) % remaining;
            (uint256 leaf, uint256 weight) = _descend(tree, height, target, remaining, removed);
            drawn[i] = leaf;
            _remove(removed, leaf, weight);
            remaining -= weight;
        }
    }

    /// @dev Leaves taken out of the tree for one draw, with their weights.
    struct Removed {
        uint256[] leaves;
        uint256[] weights;
        uint256 length;
    }

    /// @dev Walks from the root (whose remaining weight is `sum`) to the leaf holding `target`, a point in
    /// [0, sum), reading one left child per level: the right child's sum is implied by its parent's, and so is
    /// the weight of the leaf reached, which is returned with it.
    function _descend(
        Tree storage tree,
        uint256 height,
        uint256 target,
        uint256 sum,
        Removed memory removed
    ) private view returns (uint256 index, uint256 weight) {
        for (uint256 level = height; level > 0; --level) {
            uint256 left = index << 1;
            uint256 leftSum = tree.sums[_node(level - 1, left)] - _removedBelow(removed, level - 1, left);
            if (target < leftSum) {
                index = left;
                sum = leftSum;
            } else {
                // target < sum, so the right child holds what is left of it.
                target -= leftSum;
                sum -= leftSum;
                index = left | 1;
            }
        }
        weight = sum;
    }

    function _remove(Removed memory removed, uint256 leaf, uint256 weight) private pure {
        removed.leaves[removed.length] = leaf;
        removed.weights[removed.length] = weight;
        ++removed.length;
    }

    /// @dev Weight of the removed leaves under node (level, index).
    function _removedBelow(Removed memory removed, uint256 level, uint256 index) private pure returns (uint256 sum) {
        for (uint256 i; i < removed.length; ++i) {
            if (removed.leaves[i] >> level == index) sum += removed.weights[i];
        }
    }

    function _contains(Removed memory removed, uint256 leaf) private pure returns (bool) {
        for (uint256 i; i < removed.length; ++i) {
            if (removed.leaves[i] == leaf) return true;
        }
        return false;
    }

    /// @dev Storage key of node (level, index); levels stay below 2^128 and indices below 2^128.
    function _node(uint256 level, uint256 index) private pure returns (uint256) {
        return (level << 128) | index;
    }
}
