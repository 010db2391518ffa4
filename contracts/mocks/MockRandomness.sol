// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @notice Test randomness: a seed set by the test, mixed with the job id.
contract MockRandomness is IRandomnessSource {
    uint256 public seed;

    function setSeed(uint256 newSeed) external {
        seed = newSeed;
    }

    function randomSeed(uint256 jobId) external view returns (uint256) {
        return uint256(keccak256(abi.encode(seed, jobId)));
    }
}
