// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// The tag that opens version 1 of a VRF v2.5 request's `extraArgs` (Chainlink's `VRFV2PlusClient.EXTRA_ARGS_V1_TAG`):
// `extraArgs` is `abi.encodeWithSelector(VRF_EXTRA_ARGS_V1_TAG, ExtraArgsV1({nativePayment: ...}))`; a coordinator
// reads empty `extraArgs` as LINK payment and refuses any other tag.
bytes4 constant VRF_EXTRA_ARGS_V1_TAG = bytes4(keccak256("VRF ExtraArgsV1"));

/// @title IVrfCoordinatorV2Plus
/// @notice The part of Chainlink VRF v2.5's coordinator (VRFCoordinatorV2_5, behind `IVRFCoordinatorV2Plus`) that a
/// consumer calls: request random words against a funded subscription. Declared here, with the same ABI, so that
/// the protocol builds without Chainlink's package.
/// @dev The coordinator answers later by calling the requester's `rawFulfillRandomWords` (IVrfConsumerV2Plus) with
/// exactly `callbackGasLimit` gas, once `requestConfirmations` blocks have passed and its oracle has posted a proof.
/// A callback that reverts or runs out of gas is not retried: the request is spent.
interface IVrfCoordinatorV2Plus {
    /// @notice A request for random words (Chainlink's `VRFV2PlusClient.RandomWordsRequest`, field for field).
    struct RandomWordsRequest {
        bytes32 keyHash; // the oracle's proving key, which also sets the gas price ceiling of the fulfilment
        uint256 subId; // the subscription that pays; the requester must be one of its consumers
        uint16 requestConfirmations; // blocks the oracle waits before it answers (the coordinator's minimum to 200)
        uint32 callbackGasLimit; // gas the consumer's rawFulfillRandomWords gets (at most the coordinator's maximum)
        uint32 numWords; // random words wanted (at most 500)
        bytes extraArgs; // VRF_EXTRA_ARGS_V1_TAG followed by an abi-encoded ExtraArgsV1
    }

    /// @notice Version 1 of a request's extra arguments (Chainlink's `VRFV2PlusClient.ExtraArgsV1`).
    struct ExtraArgsV1 {
        bool nativePayment; // pay in the chain's native token instead of LINK
    }

    /// @notice Requests `req.numWords` random words, to be delivered to the caller's `rawFulfillRandomWords`.
    /// @dev Requirements (the coordinator's): `req.subId` exists and has the caller as a consumer; the
    /// confirmations, gas limit and number of words within the coordinator's bounds; `req.extraArgs` empty or
    /// tagged VRF_EXTRA_ARGS_V1_TAG.
    /// @return requestId What the fulfilment names the request by.
    function requestRandomWords(RandomWordsRequest calldata req) external returns (uint256 requestId);
}
