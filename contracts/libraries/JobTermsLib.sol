// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title JobTermsLib
/// @notice The one definition of the hash of a job-terms snapshot, shared by the registry, which stores it for
/// each model, and by the escrow, which compares it with the terms a requester agreed to.
library JobTermsLib {
    /// @notice `keccak256(abi.encode(snapshot))`: owner, version, content hash and the six terms, one word each.
    function hash(IModelRegistry.JobTerms memory snapshot) internal pure returns (bytes32) {
        return keccak256(abi.encode(snapshot));
    }
}
