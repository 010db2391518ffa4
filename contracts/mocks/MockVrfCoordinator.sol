// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVrfConsumerV2Plus} from "../interfaces/vrf/IVrfConsumerV2Plus.sol";
import {IVrfCoordinatorV2Plus, VRF_EXTRA_ARGS_V1_TAG} from "../interfaces/vrf/IVrfCoordinatorV2Plus.sol";

/// @notice Test stand-in for a Chainlink VRF v2.5 coordinator: `requestRandomWords` with the real signature and the
/// real checks on a request's fields (no subscription or payment), recording each request; the test then delivers
/// words of its choice, either as the real coordinator does (`fulfillWithExactGas`: exactly the request's
/// callbackGasLimit, a failure recorded, not retried, not bubbled) or with the consumer's revert bubbled (`fulfill`,
/// `fulfillRaw`) to check the consumer's refusals.
contract MockVrfCoordinator is IVrfCoordinatorV2Plus {
    /// @notice A request as it arrived.
    struct Request {
        address consumer;
        bytes32 keyHash;
        uint256 subId;
        uint16 requestConfirmations;
        uint32 callbackGasLimit;
        uint32 numWords;
        bool nativePayment;
        uint64 blockNumber;
    }

    /// @notice The real coordinator's bounds (its maximum gas limit is a setting; 2,500,000 is the usual one).
    uint16 public constant MAX_REQUEST_CONFIRMATIONS = 200;
    uint32 public constant MAX_NUM_WORDS = 500;
    uint32 public constant MAX_GAS_LIMIT = 2_500_000;
    /// @dev Gas kept back to check that the exact gas limit can be given (the real coordinator keeps 5,000).
    uint256 private constant GAS_FOR_CALL_EXACT_CHECK = 5_000;

    /// @notice Requests received.
    uint256 public requestCount;
    /// @notice When set, requests revert as for a subscription that does not exist.
    bool public refuseRequests;
    mapping(uint256 requestId => Request) private _requests;
    uint256[] private _requestIds;

    event RandomWordsRequested(
        uint256 indexed requestId,
        address indexed consumer,
        bytes32 keyHash,
        uint256 subId,
        uint16 requestConfirmations,
        uint32 callbackGasLimit,
        uint32 numWords,
        bool nativePayment
    );
    /// @param gasUsed Gas the consumer's callback used (fulfillWithExactGas only; 0 otherwise).
    event RandomWordsFulfilled(uint256 indexed requestId, bool success, uint256 gasUsed);

    error MockVrfCoordinatorInvalidSubscription();
    error MockVrfCoordinatorInvalidExtraArgsTag(bytes4 tag);
    error MockVrfCoordinatorInvalidRequestConfirmations(uint16 have, uint16 max);
    error MockVrfCoordinatorGasLimitTooBig(uint32 have, uint32 max);
    error MockVrfCoordinatorNumWordsTooBig(uint32 have, uint32 max);
    error MockVrfCoordinatorUnknownRequest(uint256 requestId);
    error MockVrfCoordinatorInsufficientGasForConsumer(uint256 have, uint256 want);

    function setRefuseRequests(bool refuse) external {
        refuseRequests = refuse;
    }

    function requestRandomWords(RandomWordsRequest calldata req) external returns (uint256 requestId) {
        if (refuseRequests) revert MockVrfCoordinatorInvalidSubscription();
        if (req.requestConfirmations > MAX_REQUEST_CONFIRMATIONS) {
            revert MockVrfCoordinatorInvalidRequestConfirmations(req.requestConfirmations, MAX_REQUEST_CONFIRMATIONS);
        }
        if (req.callbackGasLimit > MAX_GAS_LIMIT) {
            revert MockVrfCoordinatorGasLimitTooBig(req.callbackGasLimit, MAX_GAS_LIMIT);
        }
        if (req.numWords > MAX_NUM_WORDS) revert MockVrfCoordinatorNumWordsTooBig(req.numWords, MAX_NUM_WORDS);
        bool nativePayment = _nativePaymentOf(req.extraArgs);
        // As the real coordinator: unpredictable-looking ids, unique per consumer and nonce.
        requestId = uint256(keccak256(abi.encode(req.keyHash, msg.sender, req.subId, ++requestCount)));
        _requests[requestId] = Request({
            consumer: msg.sender,
            keyHash: req.keyHash,
            subId: req.subId,
            requestConfirmations: req.requestConfirmations,
            callbackGasLimit: req.callbackGasLimit,
            numWords: req.numWords,
            nativePayment: nativePayment,
            blockNumber: uint64(block.number)
        });
        _requestIds.push(requestId);
        emit RandomWordsRequested(
            requestId,
            msg.sender,
            req.keyHash,
            req.subId,
            req.requestConfirmations,
            req.callbackGasLimit,
            req.numWords,
            nativePayment
        );
    }

    /// @notice Delivers `words` for recorded request `requestId` with all the gas there is, bubbling the consumer's
    /// revert. It does not forget a request it delivered, so a test can deliver twice.
    function fulfill(uint256 requestId, uint256[] calldata words) external {
        fulfillRaw(_recorded(requestId).consumer, requestId, words);
    }

    /// @notice As the real coordinator delivers: exactly the request's callbackGasLimit, the outcome recorded in
    /// RandomWordsFulfilled (with the gas the callback used) and never bubbled.
    function fulfillWithExactGas(uint256 requestId, uint256[] calldata words) external returns (bool success) {
        Request storage request = _recorded(requestId);
        uint256 gasLimit = request.callbackGasLimit;
        address consumer = request.consumer;
        bytes memory data = abi.encodeCall(IVrfConsumerV2Plus.rawFulfillRandomWords, (requestId, words));
        uint256 before = gasleft();
        if (before < GAS_FOR_CALL_EXACT_CHECK || before - GAS_FOR_CALL_EXACT_CHECK - before / 64 <= gasLimit) {
            revert MockVrfCoordinatorInsufficientGasForConsumer(before, gasLimit);
        }
        before = gasleft();
        assembly ("memory-safe") {
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        uint256 gasUsed = before - gasleft();
        emit RandomWordsFulfilled(requestId, success, gasUsed);
    }

    /// @notice Calls `consumer.rawFulfillRandomWords(requestId, words)` for any id, bubbling its revert: for
    /// fulfilments the consumer never asked for.
    function fulfillRaw(address consumer, uint256 requestId, uint256[] calldata words) public {
        IVrfConsumerV2Plus(consumer).rawFulfillRandomWords(requestId, words);
        emit RandomWordsFulfilled(requestId, true, 0);
    }

    function requestOf(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @notice Every request id, in order.
    function requestIds() external view returns (uint256[] memory) {
        return _requestIds;
    }

    function _recorded(uint256 requestId) private view returns (Request storage request) {
        request = _requests[requestId];
        if (request.consumer == address(0)) revert MockVrfCoordinatorUnknownRequest(requestId);
    }

    /// @dev As the real coordinator reads `extraArgs`: empty is LINK payment; otherwise the V1 tag and an
    /// abi-encoded ExtraArgsV1.
    function _nativePaymentOf(bytes calldata extraArgs) private pure returns (bool) {
        if (extraArgs.length == 0) return false;
        if (extraArgs.length < 4 || bytes4(extraArgs[:4]) != VRF_EXTRA_ARGS_V1_TAG) {
            revert MockVrfCoordinatorInvalidExtraArgsTag(extraArgs.length < 4 ? bytes4(0) : bytes4(extraArgs[:4]));
        }
        return abi.decode(extraArgs[4:], (ExtraArgsV1)).nativePayment;
    }
}
