// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IoSignatureLib} from "../libraries/IoSignatureLib.sol";

/// @notice Exposes IoSignatureLib for test/libraries/IoSignatureLib.test.ts; it has no other use.
contract IoSignatureHarness {
    function inputSize(bytes calldata signature) external pure returns (uint64) {
        return IoSignatureLib.inputSize(signature);
    }
}
