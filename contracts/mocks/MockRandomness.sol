// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @notice Test randomness: tickets are the request's block number; a ticket's seed exists from the next block and
/// is the seed the test set, mixed with the ticket.
contract MockRandomness is IRandomnessSource {
    uint256 public seed;

    function setSeed(uint256 newSeed) external {
        seed = newSeed;
    }

    function requestSeed() external view returns (uint64) {
        return uint64(block.number);
    }

    function seedOf(uint64 ticket) external view returns (bool, uint256) {
        if (block.number <= ticket) return (false, 0);
        return (true, uint256(keccak256(abi.encode(seed, ticket))));
    }
}
