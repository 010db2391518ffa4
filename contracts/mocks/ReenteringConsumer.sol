// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";

/// @notice A consumer that, from its callback (or whenever `reenter` is called, e.g. by a token hook), calls the
/// escrow with calldata chosen by the test (settle another job, submitResult, withdraw, claim, request...) and
/// records whether that call succeeded and what it returned, without reverting itself. It shows that a re-entrant
/// call is refused while the outer settlement completes.
contract ReenteringConsumer is IInferenceConsumer {
    IJobEscrow public immutable ESCROW;
    /// @notice The call made into the escrow on re-entry; empty: none.
    bytes public reentryData;
    uint256 public calls;
    uint256 public reentries;
    bool public lastReentryOk;
    bytes public lastReentryReturn;
    uint256 public lastJobId;

    constructor(IJobEscrow escrow_) {
        ESCROW = escrow_;
    }

    function setReentry(bytes calldata data) external {
        reentryData = data;
    }

    /// @notice Requests a job as this contract, paying from tokens it holds.
    function request(
        uint256 modelId,
        bytes calldata input,
        uint256 approval,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256) {
        IERC20(address(ESCROW.token())).approve(address(ESCROW), approval);
        // The terms in force: these mocks test callbacks, not the terms check.
        IModelRegistry.JobTerms memory agreed = ESCROW.registry().jobTerms(modelId);
        return ESCROW.requestInference(modelId, agreed, input, deadline, callbackGasLimit);
    }

    /// @notice Withdraws this contract's credited balance from the escrow.
    function withdrawFromEscrow() external returns (uint256) {
        return ESCROW.withdraw();
    }

    /// @notice Makes the configured call into the escrow and records its result.
    function reenter() public {
        bytes memory data = reentryData;
        if (data.length == 0) return;
        ++reentries;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory returned) = address(ESCROW).call(data);
        lastReentryOk = ok;
        lastReentryReturn = returned;
    }

    function onInferenceResult(uint256 jobId, IJobEscrow.JobOutcome, bytes calldata) external {
        reenter();
        ++calls;
        lastJobId = jobId;
    }
}
