// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVerifierStaking, IDisputeWindowSource} from "../interfaces/IVerifierStaking.sol";

/// @notice A stand-in escrow for staking tests: reports a settable dispute window and forwards lock, unlock and
/// slash to the staking contract, so tests can act as the escrow through a contract.
contract EscrowStub is IDisputeWindowSource {
    IVerifierStaking public immutable STAKING;
    uint256 public maxDisputeWindow;

    constructor(IVerifierStaking staking, uint256 window) {
        STAKING = staking;
        maxDisputeWindow = window;
    }

    function setMaxDisputeWindow(uint256 window) external {
        maxDisputeWindow = window;
    }

    function lock(address account, uint256 amount) external {
        STAKING.lock(account, amount);
    }

    function unlock(address account, uint256 amount) external {
        STAKING.unlock(account, amount);
    }

    function slash(
        address account,
        uint256 unlockAmount,
        uint256 amount,
        address recipient
    ) external returns (uint256) {
        return STAKING.slash(account, unlockAmount, amount, recipient);
    }
}
