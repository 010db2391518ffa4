// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVrfRandomness} from "../interfaces/IVrfRandomness.sol";
import {IVrfConsumerV2Plus} from "../interfaces/vrf/IVrfConsumerV2Plus.sol";
import {IVrfCoordinatorV2Plus, VRF_EXTRA_ARGS_V1_TAG} from "../interfaces/vrf/IVrfCoordinatorV2Plus.sol";

/// @title VrfRandomness
/// @notice Committee randomness from a Chainlink VRF v2.5 coordinator: one VRF request per block, shared by every
/// seed asked for in that block; a ticket's seed exists once the coordinator delivers its random word.
/// @dev See IVrfRandomness for what remains biasable. Compared with BlockhashRandomness, no block producer can grind
/// the seed and no seed moves with time; what is left is the VRF's own trust (the oracle's secret key, the
/// coordinator's proof check) and liveness (a request never fulfilled ends its jobs Inconclusive, with no slash).
/// The fulfilment only checks and stores one word, so that the coordinator's callback, which it does not retry,
/// fits a small `callbackGasLimit`; a fulfilment that would store a seed of zero (one chance in 2^256) leaves its
/// ticket not ready, which ends its jobs Inconclusive like a missing fulfilment.
contract VrfRandomness is IVrfRandomness, Ownable2Step {
    /// @notice Random words asked for per request: one word seeds every job of its ticket, mixed with the job id.
    uint32 public constant NUM_WORDS = 1;
    /// @notice Bounds of `requestConfirmations`; the upper one is the coordinator's own maximum.
    uint16 public constant MIN_REQUEST_CONFIRMATIONS = 1;
    uint16 public constant MAX_REQUEST_CONFIRMATIONS = 200;
    /// @notice Bounds of `callbackGasLimit`: the lower one is about twice what a fulfilment needs (measured in
    /// test/randomness.test.ts), so that no configuration makes every fulfilment fail; the upper one is the usual
    /// coordinator maximum.
    uint32 public constant MIN_CALLBACK_GAS_LIMIT = 60_000;
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 2_500_000;

    /// @dev The coordinator that requests go to and that alone may fulfil them.
    IVrfCoordinatorV2Plus private immutable COORDINATOR;

    bytes32 private _keyHash;
    uint256 private _subId;
    // One word with the latest ticket, so that every `requestSeed` after the first of a block reads only it.
    uint16 private _requestConfirmations;
    uint32 private _callbackGasLimit;
    bool private _nativePayment;
    uint64 private _lastTicket;
    uint64 private _lastTicketBlock;

    mapping(address account => bool authorized) private _requesters;
    mapping(uint256 requestId => uint64 ticket) private _ticketOf;
    /// @dev Zero until the ticket's request is fulfilled.
    mapping(uint64 ticket => uint256 seed) private _seeds;

    /// @param coordinator_ The VRF v2.5 coordinator (not zero); fixed for the life of this source.
    /// @param keyHash The oracle's proving key (gas lane) on that coordinator.
    /// @param subId The subscription that pays; add this contract to it as a consumer and fund it.
    /// @param requestConfirmations Blocks the oracle waits before answering.
    /// @param callbackGasLimit Gas for the fulfilment callback.
    /// @param nativePayment Pay in the native token instead of LINK.
    /// @param initialOwner Authorises requesters and sets the configuration.
    constructor(
        IVrfCoordinatorV2Plus coordinator_,
        bytes32 keyHash,
        uint256 subId,
        uint16 requestConfirmations,
        uint32 callbackGasLimit,
        bool nativePayment,
        address initialOwner
    ) Ownable(initialOwner) {
        if (address(coordinator_) == address(0)) revert VrfRandomnessZeroCoordinator();
        COORDINATOR = coordinator_;
        _setVrfConfig(VrfConfig(keyHash, subId, requestConfirmations, callbackGasLimit, nativePayment));
    }

    /// @inheritdoc IRandomnessSource
    /// @dev Requirements: the caller is an authorised requester. The first call of a block sends a VRF request with
    /// the current configuration (it reverts when the coordinator refuses it); later calls of the block return the
    /// same ticket.
    function requestSeed() external returns (uint64 ticket) {
        if (!_requesters[msg.sender]) revert VrfRandomnessUnauthorizedRequester(msg.sender);
        if (_lastTicketBlock == block.number) return _lastTicket;
        // At most one ticket per block: the counter stays below the block number, far below 2^40.
        unchecked {
            ticket = _lastTicket + 1;
        }
        _lastTicket = ticket;
        _lastTicketBlock = uint64(block.number);
        uint256 requestId = COORDINATOR.requestRandomWords(
            IVrfCoordinatorV2Plus.RandomWordsRequest({
                keyHash: _keyHash,
                subId: _subId,
                requestConfirmations: _requestConfirmations,
                callbackGasLimit: _callbackGasLimit,
                numWords: NUM_WORDS,
                extraArgs: abi.encodeWithSelector(
                    VRF_EXTRA_ARGS_V1_TAG,
                    IVrfCoordinatorV2Plus.ExtraArgsV1({nativePayment: _nativePayment})
                )
            })
        );
        _ticketOf[requestId] = ticket;
        emit SeedRequested(ticket, requestId);
    }

    /// @inheritdoc IVrfConsumerV2Plus
    /// @dev Requirements: the caller is the coordinator; `requestId` was sent by `requestSeed` and not fulfilled
    /// yet; at least one word. Only the first word is used.
    function rawFulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) external {
        if (msg.sender != address(COORDINATOR)) {
            revert VrfRandomnessOnlyCoordinator(msg.sender, address(COORDINATOR));
        }
        if (randomWords.length == 0) revert VrfRandomnessNoRandomWords(requestId);
        uint64 ticket = _ticketOf[requestId];
        if (ticket == 0) revert VrfRandomnessUnknownRequest(requestId);
        if (_seeds[ticket] != 0) revert VrfRandomnessAlreadyFulfilled(requestId, ticket);
        uint256 seed = uint256(keccak256(abi.encode(randomWords[0], ticket, address(this))));
        _seeds[ticket] = seed;
        emit SeedFulfilled(ticket, requestId, seed);
    }

    /// @inheritdoc IVrfRandomness
    function setRequester(address account, bool authorized) external onlyOwner {
        if (account == address(0)) revert VrfRandomnessZeroRequester();
        _requesters[account] = authorized;
        emit RequesterUpdated(account, authorized);
    }

    /// @inheritdoc IVrfRandomness
    function setVrfConfig(VrfConfig calldata config) external onlyOwner {
        _setVrfConfig(config);
    }

    /// @inheritdoc IRandomnessSource
    function seedOf(uint64 ticket) external view returns (bool ready, uint256 seed) {
        seed = _seeds[ticket];
        ready = seed != 0;
    }

    /// @inheritdoc IVrfRandomness
    function isRequester(address account) external view returns (bool) {
        return _requesters[account];
    }

    /// @inheritdoc IVrfRandomness
    function vrfConfig() external view returns (VrfConfig memory) {
        return VrfConfig(_keyHash, _subId, _requestConfirmations, _callbackGasLimit, _nativePayment);
    }

    /// @inheritdoc IVrfRandomness
    function coordinator() external view returns (IVrfCoordinatorV2Plus) {
        return COORDINATOR;
    }

    /// @inheritdoc IVrfRandomness
    function lastTicket() external view returns (uint64 ticket, uint64 blockNumber) {
        return (_lastTicket, _lastTicketBlock);
    }

    /// @inheritdoc IVrfRandomness
    function ticketOf(uint256 requestId) external view returns (uint64 ticket) {
        return _ticketOf[requestId];
    }

    /// @dev Checks `config` against the bounds and stores it.
    function _setVrfConfig(VrfConfig memory config) private {
        _checkRange(
            "requestConfirmations",
            config.requestConfirmations,
            MIN_REQUEST_CONFIRMATIONS,
            MAX_REQUEST_CONFIRMATIONS
        );
        _checkRange("callbackGasLimit", config.callbackGasLimit, MIN_CALLBACK_GAS_LIMIT, MAX_CALLBACK_GAS_LIMIT);
        _keyHash = config.keyHash;
        _subId = config.subId;
        _requestConfirmations = config.requestConfirmations;
        _callbackGasLimit = config.callbackGasLimit;
        _nativePayment = config.nativePayment;
        emit VrfConfigUpdated(
            config.keyHash,
            config.subId,
            config.requestConfirmations,
            config.callbackGasLimit,
            config.nativePayment
        );
    }

    function _checkRange(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert VrfRandomnessInvalidParam(name, value, min, max);
    }
}
