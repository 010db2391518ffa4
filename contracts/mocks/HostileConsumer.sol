// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";

/// @notice A consumer whose callback misbehaves in a chosen way, to show that settlement never depends on it.
contract HostileConsumer is IInferenceConsumer {
    enum Behaviour {
        Accept, // records the result
        Revert, // reverts with a message
        BurnGas, // loops until it runs out of gas
        ReturnBomb, // reverts with 1 MB of return data
        Reenter // calls back into the escrow (withdraw) from the callback
    }

    error HostileConsumerRefused(uint256 jobId);

    IJobEscrow public immutable ESCROW;
    Behaviour public behaviour;
    uint256 public calls;
    uint256 public lastJobId;
    IJobEscrow.JobOutcome public lastOutcome;
    bytes public lastOutput;

    constructor(IJobEscrow escrow_, Behaviour behaviour_) {
        ESCROW = escrow_;
        behaviour = behaviour_;
    }

    function setBehaviour(Behaviour behaviour_) external {
        behaviour = behaviour_;
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

    function onInferenceResult(uint256 jobId, IJobEscrow.JobOutcome outcome, bytes calldata output) external {
        Behaviour b = behaviour;
        if (b == Behaviour.Revert) revert HostileConsumerRefused(jobId);
        if (b == Behaviour.BurnGas) {
            uint256 x;
            while (true) x = uint256(keccak256(abi.encode(x)));
        }
        if (b == Behaviour.ReturnBomb) {
            assembly {
                revert(0, 1000000)
            }
        }
        if (b == Behaviour.Reenter) ESCROW.withdraw();
        ++calls;
        lastJobId = jobId;
        lastOutcome = outcome;
        lastOutput = output;
    }
}
