// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token with transfer hooks (like ERC-777), to be used as the protocol's own token: once armed, its next
/// transfer or transferFrom calls a chosen target with chosen calldata, after the balances moved. The hook either
/// bubbles the target's revert up (`bubble`) or swallows it and records what happened, so a test can show both
/// that a re-entrant call is refused and that the outer call still completes.
contract HookToken is ERC20 {
    address public hookTarget;
    bytes public hookData;
    bool public bubble;
    /// @notice How many hooks ran, whether the last one succeeded, and what it returned (revert data if it failed).
    uint256 public hookCalls;
    bool public lastOk;
    bytes public lastReturn;

    constructor() ERC20("Hook", "HOOK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms a single call of `target` with `data` on the next transfer between two non-zero accounts.
    function setHook(address target, bytes calldata data, bool bubble_) external {
        hookTarget = target;
        hookData = data;
        bubble = bubble_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address target = hookTarget;
        if (target == address(0) || from == address(0) || to == address(0)) return;
        hookTarget = address(0);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory returned) = target.call(hookData);
        ++hookCalls;
        lastOk = ok;
        lastReturn = returned;
        if (!ok && bubble) {
            assembly {
                revert(add(returned, 32), mload(returned))
            }
        }
    }
}
