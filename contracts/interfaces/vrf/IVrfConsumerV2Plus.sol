// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IVrfConsumerV2Plus
/// @notice What a Chainlink VRF v2.5 coordinator calls to deliver random words (the entry point of Chainlink's
/// `VRFConsumerBaseV2Plus`), declared here with the same ABI.
interface IVrfConsumerV2Plus {
    /// @notice Delivers the random words of request `requestId`.
    /// @dev Requirements: the caller is the coordinator the request was sent to. The coordinator calls with exactly
    /// the request's `callbackGasLimit` and does not retry a call that reverts.
    function rawFulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) external;
}
