// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @notice Test randomness that works until a test makes it fail in one of the ways a source can fail.
contract FaultyRandomness is IRandomnessSource {
    enum Fault {
        None, // answers like MockRandomness with seed 0
        Revert, // reverts with a reason
        BurnGas, // loops until its gas runs out
        ShortReturn // returns nothing
    }

    Fault public fault;

    error FaultyRandomnessUnavailable();

    function setFault(Fault newFault) external {
        fault = newFault;
    }

    function randomSeed(uint256 jobId) external view returns (uint256) {
        Fault f = fault;
        if (f == Fault.Revert) revert FaultyRandomnessUnavailable();
        if (f == Fault.BurnGas) {
            uint256 x;
            while (true) x = uint256(keccak256(abi.encode(x)));
        }
        if (f == Fault.ShortReturn) {
            assembly ("memory-safe") {
                return(0, 0)
            }
        }
        return uint256(keccak256(abi.encode(uint256(0), jobId)));
    }
}
