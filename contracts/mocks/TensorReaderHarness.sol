// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TensorReader} from "../libraries/TensorReader.sol";

/// @notice Exposes TensorReader for test/libraries/TensorReader.test.ts; it has no other use. Lists arrive as
/// calldata and reach the library as memory copies, as a consumer's output does.
contract TensorReaderHarness {
    using TensorReader for bytes;

    /// @notice The type masks of TensorReaderTypeMismatch: INTEGER_TYPES, FLOAT_TYPES, NUMERIC_TYPES.
    function typeMasks() external pure returns (uint256, uint256, uint256) {
        return (TensorReader.INTEGER_TYPES, TensorReader.FLOAT_TYPES, TensorReader.NUMERIC_TYPES);
    }

    function elementSize(uint8 typeCode) external pure returns (uint256) {
        return TensorReader.elementSize(typeCode);
    }

    function count(bytes calldata list) external pure returns (uint256) {
        return TensorReader.count(list);
    }

    function validate(bytes calldata list) external pure returns (uint256) {
        return TensorReader.validate(list);
    }

    function find(bytes calldata list, string calldata tensorName) external pure returns (TensorReader.Tensor memory) {
        return TensorReader.find(list, tensorName);
    }

    function tryFind(
        bytes calldata list,
        string calldata tensorName
    ) external pure returns (bool, TensorReader.Tensor memory) {
        return TensorReader.tryFind(list, tensorName);
    }

    function at(bytes calldata list, uint256 index) external pure returns (TensorReader.Tensor memory) {
        return TensorReader.at(list, index);
    }

    function name(bytes calldata list, TensorReader.Tensor calldata t) external pure returns (string memory) {
        return TensorReader.name(list, t);
    }

    function dim(bytes calldata list, TensorReader.Tensor calldata t, uint256 k) external pure returns (uint256) {
        return TensorReader.dim(list, t, k);
    }

    function shape(bytes calldata list, TensorReader.Tensor calldata t) external pure returns (uint256[] memory) {
        return TensorReader.shape(list, t);
    }

    function intAt(bytes calldata list, TensorReader.Tensor calldata t, uint256 i) external pure returns (int256) {
        return TensorReader.intAt(list, t, i);
    }

    function floatBitsAt(
        bytes calldata list,
        TensorReader.Tensor calldata t,
        uint256 i
    ) external pure returns (uint64) {
        return TensorReader.floatBitsAt(list, t, i);
    }

    function argmax(bytes calldata list, TensorReader.Tensor calldata t) external pure returns (uint256) {
        return TensorReader.argmax(list, t);
    }

    /// @notice Every element of an integer or bool tensor, each through `intAt`.
    function ints(bytes calldata list, TensorReader.Tensor calldata t) external pure returns (int256[] memory) {
        return _ints(list, t);
    }

    /// @notice Every element of a float tensor, each through `floatBitsAt`.
    function floatBits(bytes calldata list, TensorReader.Tensor calldata t) external pure returns (uint64[] memory) {
        return _floatBits(list, t);
    }

    /// @notice In one call, what the accessors give about the tensor at `index`: its view (`at`), the view `find`
    /// gives for its name, its name, its shape, and its elements (an integer tensor's through `intAt`, a float
    /// tensor's bits through `floatBitsAt`; the other array empty).
    function read(
        bytes calldata list,
        uint256 index
    )
        external
        pure
        returns (
            TensorReader.Tensor memory t,
            TensorReader.Tensor memory found,
            string memory tensorName,
            uint256[] memory dims,
            int256[] memory intValues,
            uint64[] memory floatValues
        )
    {
        bytes memory copy = list;
        t = copy.at(index);
        tensorName = copy.name(t);
        found = copy.find(tensorName);
        dims = copy.shape(t);
        if ((TensorReader.FLOAT_TYPES >> t.typeCode) & 1 == 1) floatValues = _floatBits(copy, t);
        else intValues = _ints(copy, t);
    }

    /// @notice What a consumer writes: the argmax of the tensor named `tensorName` of an output it received.
    function argmaxOf(bytes calldata output, string calldata tensorName) external pure returns (uint256) {
        bytes memory list = output;
        return list.argmax(list.find(tensorName));
    }

    function _ints(bytes memory list, TensorReader.Tensor memory t) private pure returns (int256[] memory out) {
        out = new int256[](t.elementCount);
        for (uint256 i; i < out.length; ++i) out[i] = list.intAt(t, i);
    }

    function _floatBits(bytes memory list, TensorReader.Tensor memory t) private pure returns (uint64[] memory out) {
        out = new uint64[](t.elementCount);
        for (uint256 i; i < out.length; ++i) out[i] = list.floatBitsAt(t, i);
    }
}
