// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "./IRandomnessSource.sol";
import {IVrfConsumerV2Plus} from "./vrf/IVrfConsumerV2Plus.sol";
import {IVrfCoordinatorV2Plus} from "./vrf/IVrfCoordinatorV2Plus.sol";

/// @title IVrfRandomness
/// @notice Committee randomness from a Chainlink VRF v2.5 coordinator behind IRandomnessSource. The first
/// `requestSeed` of a block sends one VRF request; every later `requestSeed` of that block gets the same ticket, so
/// a batch of submissions pays for one request. A ticket is this contract's own round number (1, 2, …), mapped to
/// the coordinator's request id; its seed exists once the coordinator delivers the random word:
/// `keccak256(abi.encode(randomWord, ticket, address(this)))`.
/// @dev Only requesters the owner authorised (the escrows) may call `requestSeed`, since each request spends the
/// subscription. The deployer adds this contract as a consumer of subscription `subId` on the coordinator and
/// funds it; the coordinator is fixed at deployment (changing it means a new source, announced through
/// `JobEscrow.announceRandomnessSource` with its notice).
///
/// What remains biasable, stated plainly:
/// - the seed is the VRF's output: unpredictable and unchosen as long as the oracle's key is secret and the
///   coordinator checks its proof (Chainlink's guarantees). The oracle itself learns the word before it is posted
///   and can tell anyone, so a party colluding with it learns the committee's seed a few blocks earlier than others;
/// - a coordinator or oracle that never fulfils (an unfunded subscription, an unknown key hash, a callback gas
///   limit too small, an oracle that withholds) leaves the jobs of that ticket undrawn until their draw window
///   closes: they settle Inconclusive, with the requester refunded and nobody slashed. Withholding can stop a
///   committee from being drawn, never choose one;
/// - the owner can do the same on purpose (a wrong configuration, a requester removed): committees stop, and jobs
///   end Inconclusive or, for a submission that claims in the same transaction, are refused; it cannot choose a
///   seed;
/// - between the seed's delivery and the draw, verifier weights can still change (as with any source): whoever
///   sees the seed first and moves weight before the draw shifts it.
interface IVrfRandomness is IRandomnessSource, IVrfConsumerV2Plus {
    /// @notice What each VRF request asks the coordinator for (see IVrfCoordinatorV2Plus.RandomWordsRequest).
    struct VrfConfig {
        bytes32 keyHash; // the oracle's proving key (its gas lane)
        uint256 subId; // the subscription that pays, with this contract as a consumer
        uint16 requestConfirmations; // blocks the oracle waits; keep it well inside the escrow's draw window
        uint32 callbackGasLimit; // gas for rawFulfillRandomWords; at least MIN_CALLBACK_GAS_LIMIT
        bool nativePayment; // pay in the native token instead of LINK
    }

    /// @notice Emitted when the owner authorises `account` to request seeds, or withdraws that.
    event RequesterUpdated(address indexed account, bool authorized);
    /// @notice Emitted when the owner sets what VRF requests ask for (and once at deployment).
    event VrfConfigUpdated(
        bytes32 keyHash,
        uint256 subId,
        uint16 requestConfirmations,
        uint32 callbackGasLimit,
        bool nativePayment
    );
    /// @notice Emitted when a block's first `requestSeed` sends VRF request `requestId` for `ticket`.
    event SeedRequested(uint64 indexed ticket, uint256 indexed requestId);
    /// @notice Emitted when the coordinator delivers request `requestId`: `ticket`'s seed now exists.
    event SeedFulfilled(uint64 indexed ticket, uint256 indexed requestId, uint256 seed);

    /// @notice The coordinator given at deployment is the zero address.
    error VrfRandomnessZeroCoordinator();
    /// @notice The requester to authorise is the zero address.
    error VrfRandomnessZeroRequester();
    /// @notice `caller` is not authorised to request seeds (`setRequester`).
    error VrfRandomnessUnauthorizedRequester(address caller);
    /// @notice Random words came from `caller`, not from `coordinator`.
    error VrfRandomnessOnlyCoordinator(address caller, address coordinator);
    /// @notice No ticket was requested under `requestId`.
    error VrfRandomnessUnknownRequest(uint256 requestId);
    /// @notice `requestId` (for `ticket`) was fulfilled already.
    error VrfRandomnessAlreadyFulfilled(uint256 requestId, uint64 ticket);
    /// @notice The fulfilment of `requestId` carried no random word.
    error VrfRandomnessNoRandomWords(uint256 requestId);
    /// @notice A configuration field is outside its bounds.
    error VrfRandomnessInvalidParam(bytes32 name, uint256 value, uint256 min, uint256 max);

    /// @notice Authorises `account` to request seeds (`authorized`), or withdraws that.
    /// @dev Requirements: caller is the owner; `account` is not zero.
    function setRequester(address account, bool authorized) external;

    /// @notice Sets what later VRF requests ask for. A request already sent keeps what it asked.
    /// @dev Requirements: caller is the owner; `requestConfirmations` in [MIN_REQUEST_CONFIRMATIONS,
    /// MAX_REQUEST_CONFIRMATIONS]; `callbackGasLimit` in [MIN_CALLBACK_GAS_LIMIT, MAX_CALLBACK_GAS_LIMIT]
    /// (`VrfRandomnessInvalidParam`).
    function setVrfConfig(VrfConfig calldata config) external;

    /// @notice Whether `account` may request seeds.
    function isRequester(address account) external view returns (bool);

    /// @notice What VRF requests ask for now.
    function vrfConfig() external view returns (VrfConfig memory);

    /// @notice The coordinator that VRF requests go to and that alone may fulfil them.
    function coordinator() external view returns (IVrfCoordinatorV2Plus);

    /// @notice The latest ticket and the block whose seed requests it serves (0, 0 before the first request).
    function lastTicket() external view returns (uint64 ticket, uint64 blockNumber);

    /// @notice The ticket requested under VRF request `requestId`; 0 when none was.
    function ticketOf(uint256 requestId) external view returns (uint64 ticket);
}
