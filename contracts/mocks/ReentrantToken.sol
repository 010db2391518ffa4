// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token that, once armed, calls back a chosen target during its next transfer (like an ERC-777 hook),
/// bubbling up any revert, to show that the staking contract's guarded functions cannot be re-entered.
contract ReentrantToken is ERC20 {
    address public hookTarget;
    bytes public hookData;

    constructor() ERC20("Reentrant", "REENTER") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms a single call of `target` with `data` on the next transfer.
    function setHook(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address target = hookTarget;
        if (target == address(0) || from == address(0) || to == address(0)) return;
        hookTarget = address(0);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory returned) = target.call(hookData);
        if (!ok) {
            assembly {
                revert(add(returned, 32), mload(returned))
            }
        }
    }
}
