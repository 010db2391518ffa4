// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title PrevrandaoRandomness
/// @notice The default committee randomness: the block's prevrandao mixed with the job id and this contract.
/// @dev Biasable, and stated plainly: prevrandao is known one block ahead, so whoever sends the transaction that
/// draws a committee (the worker submitting a Committee job, a challenger) can predict the committee of the
/// next block and choose whether to send; a block proposer can also withhold its block. With a colluding
/// minority of verifier stake this raises the chance of a friendly committee. Production deployments with
/// value at stake should plug a verifiable randomness source behind IRandomnessSource.
contract PrevrandaoRandomness is IRandomnessSource {
    /// @inheritdoc IRandomnessSource
    function randomSeed(uint256 jobId) external view returns (uint256) {
        return uint256(keccak256(abi.encode(block.prevrandao, jobId, address(this))));
    }
}
