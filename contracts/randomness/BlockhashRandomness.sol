// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title BlockhashRandomness
/// @notice The default committee randomness: the hash of the block after the one that asked, read once it exists.
/// @dev The ticket is the number of the block after the request's, so the seed does not exist when the submission
/// or the challenge that asked for it is sent, and whoever draws later cannot choose it. What remains:
/// - the producer of the ticket's block chooses its contents, so it can grind its hash: a worker or challenger
///   that produces (or buys) that block can pick among committees;
/// - a block hash can be read for 256 blocks. After that the seed moves to the hash of the last block of the
///   latest whole run of 256 blocks since the ticket (`anchorOf`), which changes every 256 blocks: a drawer that
///   can keep everyone else from drawing for 256 blocks gets one new seed per 256 blocks of delay;
/// - between the seed's block and the draw, weights can still change (new stake, an opt-in): a party that sees
///   the seed first and moves weight ahead of the draw shifts it. The worker's service draws as soon as the seed
///   exists.
/// A request/fulfil VRF behind IRandomnessSource (see VrfRandomness) removes the first two.
contract BlockhashRandomness is IRandomnessSource {
    /// @notice Blocks whose hash the EVM keeps readable.
    uint256 public constant BLOCKHASH_WINDOW = 256;

    /// @inheritdoc IRandomnessSource
    function requestSeed() external view returns (uint64 ticket) {
        return uint64(block.number + 1);
    }

    /// @inheritdoc IRandomnessSource
    function seedOf(uint64 ticket) external view returns (bool ready, uint256 seed) {
        if (block.number <= ticket) return (false, 0);
        uint256 anchor = anchorOf(ticket);
        return (true, uint256(keccak256(abi.encode(blockhash(anchor), ticket, address(this)))));
    }

    /// @notice The block whose hash seeds `ticket` now: the ticket's own block while its hash can be read, then the
    /// ticket's block plus the whole runs of BLOCKHASH_WINDOW blocks that have passed since. Only for a ticket
    /// whose block exists.
    function anchorOf(uint64 ticket) public view returns (uint256) {
        uint256 age = block.number - 1 - ticket;
        return ticket + (age / BLOCKHASH_WINDOW) * BLOCKHASH_WINDOW;
    }
}
