// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @notice Test randomness that works (like MockRandomness with seed 0) until a test makes one of its two calls
/// fail in one of the ways a source can fail.
contract FaultyRandomness is IRandomnessSource {
    enum Fault {
        None,
        Revert, // reverts with a reason
        BurnGas, // loops until its gas runs out
        ShortReturn, // returns nothing
        NeverReady, // seedOf only: the seed never exists
        HugeTicket // requestSeed only: a ticket of more than 40 bits
    }

    Fault public requestFault;
    Fault public seedFault;

    error FaultyRandomnessUnavailable();

    function setFaults(Fault onRequest, Fault onSeed) external {
        requestFault = onRequest;
        seedFault = onSeed;
    }

    function requestSeed() external view returns (uint64) {
        Fault f = requestFault;
        _fail(f);
        if (f == Fault.HugeTicket) return uint64(1) << 40;
        return uint64(block.number);
    }

    function seedOf(uint64 ticket) external view returns (bool, uint256) {
        Fault f = seedFault;
        _fail(f);
        if (f == Fault.NeverReady || block.number <= ticket) return (false, 0);
        return (true, uint256(keccak256(abi.encode(uint256(0), ticket))));
    }

    function _fail(Fault f) private pure {
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
    }
}
