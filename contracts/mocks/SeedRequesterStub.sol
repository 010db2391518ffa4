// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @notice A stand-in escrow for randomness tests: asks its source for several seeds in one transaction, as a batch
/// of Committee submissions does, and reports the tickets it got; reads a seed inside a transaction, so a test can
/// read it in a block of its choice.
contract SeedRequesterStub {
    IRandomnessSource public immutable SOURCE;

    event TicketsReceived(uint64[] tickets);
    event SeedRead(uint64 indexed ticket, bool ready, uint256 seed, uint256 blockNumber);

    constructor(IRandomnessSource source) {
        SOURCE = source;
    }

    /// @notice Calls `requestSeed` `count` times and emits the tickets in order.
    function requestSeeds(uint256 count) external returns (uint64[] memory tickets) {
        tickets = new uint64[](count);
        for (uint256 i; i < count; ++i) tickets[i] = SOURCE.requestSeed();
        emit TicketsReceived(tickets);
    }

    /// @notice Reads `SOURCE.seedOf(ticket)` in this transaction's block and emits it.
    function readSeed(uint64 ticket) external returns (bool ready, uint256 seed) {
        (ready, seed) = SOURCE.seedOf(ticket);
        emit SeedRead(ticket, ready, seed, block.number);
    }
}
