// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestToken
/// @notice The fee and stake token of local and test deployments; production passes an existing token.
/// @dev The owner mints; anyone may mint to themselves through `faucet`, capped per call, so testnet users can
/// try the protocol without asking.
contract TestToken is ERC20, Ownable {
    /// @notice Most one `faucet` call mints.
    uint256 public constant FAUCET_AMOUNT = 1_000e18;

    constructor(address owner) ERC20("TrustML Test Token", "TML") Ownable(owner) {}

    /// @notice Mints `amount` to `to`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints FAUCET_AMOUNT to the caller.
    function faucet() external {
        _mint(msg.sender, FAUCET_AMOUNT);
    }
}
