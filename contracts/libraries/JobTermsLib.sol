// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title JobTermsLib
/// @notice The one definition of the hash of a job-terms snapshot, shared by the registry, which stores it for
/// each model, and by the escrow, which compares it with the terms a requester agreed to.
library JobTermsLib {
    /// @dev Size of an encoded `JobTerms`: owner, version, contentHash, inputSize and the six words of `ModelTerms`.
    uint256 private constant ENCODED_BYTES = 10 * 32;

    /// @notice `keccak256(abi.encode(snapshot))`: owner, version, content hash, input size and the six terms, one
    /// word each.
    function hash(IModelRegistry.JobTerms memory snapshot) internal pure returns (bytes32) {
        return keccak256(abi.encode(snapshot));
    }

    /// @notice `hash` of a snapshot in calldata, without copying it field by field: `JobTerms` is a static
    /// struct, so its ABI encoding is its calldata words as they are. Words with dirty high bits hash to
    /// something no registry stores, so a check against `IModelRegistry.jobTermsHash` fails closed.
    function hashCalldata(IModelRegistry.JobTerms calldata snapshot) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, snapshot, ENCODED_BYTES)
            digest := keccak256(ptr, ENCODED_BYTES)
        }
    }
}
