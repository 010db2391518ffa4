// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TensorReader
/// @notice Reads a TML1 tensor list (docs/TENSOR-ENCODING.md) on chain: the output a consumer receives in
/// `IInferenceConsumer.onInferenceResult`. Find a tensor by name or position, then read its type, its shape, its
/// elements as integers or as IEEE 754 bits, and the index of its largest element.
/// @dev Every function is internal, so it is inlined into the caller: nothing to deploy or link. The list is
/// `bytes memory`; a caller holding `bytes calldata` may pass it as it is, but Solidity then copies it to memory at
/// every call: to read more than one thing, copy it once (`bytes memory list = output;`) and pass the copy.
/// Offsets in a `Tensor` and in errors are byte offsets into the list (0 is the first byte of the magic).
///
/// What is checked. The readers are lazy: `find`, `tryFind` and `at` check the header (length, magic) and every
/// tensor they walk over, up to and including the one they return, and nothing after it:
/// - the name length is non-zero and the name lies inside the list;
/// - the type code is one of the seven of the TML1 table;
/// - the rank byte and every dimension lie inside the list, and no dimension exceeds 2^53 - 1;
/// - the data (product of the dimensions times the element size) lies inside the list.
/// Element readers check that a bool byte is 0 or 1 when they read it. So no function reads outside the list or
/// returns a value from bytes that are not there; every refusal is one of the named errors below.
/// Not checked by the lazy readers: that names are in ascending order and unique (so `find` returns the first
/// tensor so named), the bytes after the tensor returned (including trailing bytes), and bools not read.
/// `validate` checks the whole list: everything `decodeTensors` (packages/sdk/src/codec/tensor.ts) rejects, except
/// that names are not checked to be well-formed UTF-8.
library TensorReader {
    /// @notice Where one tensor lies in its list: what `find`, `tryFind` and `at` return, and what the accessors
    /// take back together with the same list. It holds offsets, not the data: it is only meaningful with the list
    /// it was read from (with another list, an accessor reverts or reads that list's bytes, never past its end).
    struct Tensor {
        uint256 nameAt; // offset of the name's first byte
        uint256 nameLength; // the name's length in bytes, 1..65535
        uint8 typeCode; // element type, the ONNX code of the TML1 table (FLOAT32 ... FLOAT64 below)
        uint8 rank; // number of dimensions, 0 for a scalar
        uint256 dimsAt; // offset of dimension 0; dimension k is the u64 (little-endian) at dimsAt + 8k
        uint256 elementCount; // product of the dimensions (1 for a scalar, 0 when a dimension is 0)
        uint256 dataAt; // offset of element 0; element i lies at dataAt + i * elementSize(typeCode)
    }

    /// @notice Type code of float32 (IEEE 754 binary32, 4 bytes); the codes are ONNX `TensorProto.DataType`'s.
    uint8 internal constant FLOAT32 = 1;
    /// @notice Type code of uint8 (1 byte).
    uint8 internal constant UINT8 = 2;
    /// @notice Type code of int8 (two's complement, 1 byte).
    uint8 internal constant INT8 = 3;
    /// @notice Type code of int32 (two's complement, 4 bytes).
    uint8 internal constant INT32 = 6;
    /// @notice Type code of int64 (two's complement, 8 bytes).
    uint8 internal constant INT64 = 7;
    /// @notice Type code of bool (1 byte, 0 or 1).
    uint8 internal constant BOOL = 9;
    /// @notice Type code of float64 (IEEE 754 binary64, 8 bytes).
    uint8 internal constant FLOAT64 = 11;
    /// @notice The types `intAt` reads (uint8, int8, int32, int64, bool), as a bit mask with bit c set for code c,
    /// as `TensorReaderTypeMismatch` reports it.
    uint256 internal constant INTEGER_TYPES = (1 << UINT8) | (1 << INT8) | (1 << INT32) | (1 << INT64) | (1 << BOOL);
    /// @notice The types `floatBitsAt` reads (float32, float64), as a bit mask.
    uint256 internal constant FLOAT_TYPES = (1 << FLOAT32) | (1 << FLOAT64);
    /// @notice The types `argmax` takes (all seven), as a bit mask.
    uint256 internal constant NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES;
    /// @notice The largest dimension TML1 allows, 2^53 - 1.
    uint256 internal constant MAX_DIMENSION = (1 << 53) - 1;
    /// @dev The magic and version, and the bytes before the first tensor (magic and count).
    bytes4 private constant MAGIC = "TML1";
    uint256 private constant HEADER = 8;
    /// @dev Every bit of a word but the lowest of each byte: a byte of bools is 0 or 1 when these bits are clear.
    uint256 private constant NOT_BOOL = 0xfefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefe;
    /// @dev The bits of a float's magnitude (all but the sign), and the magnitude of +infinity: any larger
    /// magnitude is a NaN.
    uint256 private constant F32_MAGNITUDE = 0x7fffffff;
    uint256 private constant F32_INFINITY = 0x7f800000;
    uint256 private constant F64_MAGNITUDE = 0x7fffffffffffffff;
    uint256 private constant F64_INFINITY = 0x7ff0000000000000;

    /// @notice The bytes are not a TML1 list at `offset`: the first byte of the field that runs past the end or
    /// holds a value TML1 does not allow. The fields: the magic (0: fewer than 4 bytes, or not "TML1"), the count
    /// (4), a tensor's name length (its first byte: truncated or 0), its name (truncated, or for `validate` not
    /// after the previous name), its type code (truncated or unknown), its rank (truncated), a dimension
    /// (truncated or over 2^53 - 1), its data (shorter than the shape says), a bool element (not 0 or 1, at the
    /// element's own offset), or for `validate` the first byte after the last tensor (trailing bytes). An accessor
    /// given a `Tensor` whose data or dimensions do not lie inside the list (a view of another list) reverts
    /// with the view's `dataAt`, `dimsAt` or `nameAt`.
    error TensorReaderMalformed(uint256 offset);
    /// @notice No tensor of the list is named `name`.
    error TensorReaderNotFound(string name);
    /// @notice Asked for item `index` of `count`: a tensor of the list, a dimension of the shape or an element.
    error TensorReaderIndexOutOfRange(uint256 index, uint256 count);
    /// @notice The tensor's type `typeCode` is not one of the types the function reads, `accepted` (a bit mask:
    /// INTEGER_TYPES, FLOAT_TYPES or NUMERIC_TYPES).
    error TensorReaderTypeMismatch(uint8 typeCode, uint256 accepted);
    /// @notice `argmax` has nothing to return: none of the tensor's `elementCount` elements is a number (it has
    /// no elements, or every one is a NaN).
    error TensorReaderNoArgmax(uint256 elementCount);

    /// @notice The number of tensors of `list`, from its header. Checks the header only: at least 8 bytes, the
    /// magic "TML1".
    function count(bytes memory list) internal pure returns (uint256) {
        uint256 length = list.length;
        if (length < 4 || bytes4(bytes32(_word(list, 0))) != MAGIC) revert TensorReaderMalformed(0);
        if (length < HEADER) revert TensorReaderMalformed(4);
        return _swap32(_word(list, 4) >> 224);
    }

    /// @notice The tensor named `tensorName` (compared as bytes), the first so named in list order. Reverts with
    /// TensorReaderNotFound when there is none, TensorReaderMalformed when a tensor up to it is malformed.
    function find(bytes memory list, string memory tensorName) internal pure returns (Tensor memory t) {
        bool found;
        (found, t) = tryFind(list, tensorName);
        if (!found) revert TensorReaderNotFound(tensorName);
    }

    /// @notice `find` for an optional tensor: whether `list` holds a tensor named `tensorName`, and if so the first one
    /// (else a view of zeros). Still reverts with TensorReaderMalformed on a malformed list; when `found` is false
    /// the whole list was walked, so every tensor passed the lazy readers' checks.
    function tryFind(bytes memory list, string memory tensorName) internal pure returns (bool found, Tensor memory t) {
        uint256 n = count(list);
        uint256 nameLength = bytes(tensorName).length;
        bytes32 nameHash = keccak256(bytes(tensorName));
        Tensor memory read;
        uint256 next = HEADER;
        for (uint256 i; i < n; ++i) {
            next = _read(list, next, read);
            if (read.nameLength == nameLength && _hash(list, read.nameAt, nameLength) == nameHash) return (true, read);
        }
    }

    /// @notice The tensor at position `index` (0 is the first, in list order, which is name order in a canonical
    /// list). Reverts with TensorReaderIndexOutOfRange(index, count) past the last, TensorReaderMalformed when a
    /// tensor up to it is malformed.
    function at(bytes memory list, uint256 index) internal pure returns (Tensor memory t) {
        uint256 n = count(list);
        if (index >= n) revert TensorReaderIndexOutOfRange(index, n);
        uint256 next = HEADER;
        for (uint256 i; i <= index; ++i) next = _read(list, next, t);
    }

    /// @notice Checks the whole of `list` and returns its number of tensors: the lazy readers' checks on every
    /// tensor, names strictly ascending (compared as unsigned bytes, a prefix first), every bool 0 or 1, and
    /// nothing after the last tensor. Does not check that names are well-formed UTF-8. Reverts with
    /// TensorReaderMalformed at the first departure. Its gas grows with the list's size (bools are read 32 at a
    /// time, other data not at all).
    function validate(bytes memory list) internal pure returns (uint256 n) {
        n = count(list);
        Tensor memory t;
        uint256 next = HEADER;
        uint256 previousAt;
        uint256 previousLength;
        for (uint256 i; i < n; ++i) {
            uint256 end = _read(list, next, t);
            if (i > 0 && !_after(list, previousAt, previousLength, t.nameAt, t.nameLength)) {
                revert TensorReaderMalformed(t.nameAt);
            }
            if (t.typeCode == BOOL) _checkBools(list, t.dataAt, end);
            (previousAt, previousLength, next) = (t.nameAt, t.nameLength, end);
        }
        if (next != list.length) revert TensorReaderMalformed(next);
    }

    /// @notice The tensor's name, a copy of its bytes (not checked to be UTF-8).
    function name(bytes memory list, Tensor memory t) internal pure returns (string memory out) {
        uint256 length = t.nameLength;
        uint256 from = t.nameAt;
        if (from > list.length || length > list.length - from) revert TensorReaderMalformed(from);
        out = new string(length);
        // One copy of the name's bytes into the new string's body, which has exactly `length` bytes.
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(list, 0x20), from), length)
        }
    }

    /// @notice Dimension `k` of the tensor's shape (0 is the outermost). Reverts with
    /// TensorReaderIndexOutOfRange(k, rank) when the tensor has no dimension k.
    function dim(bytes memory list, Tensor memory t, uint256 k) internal pure returns (uint256) {
        if (k >= t.rank) revert TensorReaderIndexOutOfRange(k, t.rank);
        _checkDims(list, t);
        // k < rank <= 255, and the dimensions lie inside the list: no overflow, no read past the end.
        unchecked {
            return _swap64(_word(list, t.dimsAt + 8 * k) >> 192);
        }
    }

    /// @notice The tensor's shape, outermost dimension first (empty for a scalar).
    function shape(bytes memory list, Tensor memory t) internal pure returns (uint256[] memory dims) {
        _checkDims(list, t);
        uint256 rank = t.rank;
        dims = new uint256[](rank);
        // k < rank <= 255, and the dimensions lie inside the list: no overflow, no read past the end.
        unchecked {
            for (uint256 k; k < rank; ++k) dims[k] = _swap64(_word(list, t.dimsAt + 8 * k) >> 192);
        }
    }

    /// @notice Element `i` (flat, row-major) of an integer or bool tensor: int8, int32 and int64 sign-extended,
    /// uint8 as it is, bool as 0 or 1. Reverts with TensorReaderTypeMismatch(typeCode, INTEGER_TYPES) for a
    /// float tensor, TensorReaderIndexOutOfRange(i, elementCount) past the last element, TensorReaderMalformed at
    /// a bool byte other than 0 or 1.
    function intAt(bytes memory list, Tensor memory t, uint256 i) internal pure returns (int256) {
        uint8 code = t.typeCode;
        if ((INTEGER_TYPES >> code) & 1 == 0) revert TensorReaderTypeMismatch(code, INTEGER_TYPES);
        uint256 size = _checkData(list, t);
        if (i >= t.elementCount) revert TensorReaderIndexOutOfRange(i, t.elementCount);
        // i < elementCount, and the data lies inside the list (_checkData): the offset is inside it too.
        unchecked {
            return _integer(list, t.dataAt + i * size, code);
        }
    }

    /// @notice The IEEE 754 bits of element `i` (flat, row-major) of a float tensor: binary32 bits in the low 32
    /// bits for float32, binary64 bits for float64. NaN payloads and the sign of zero are as posted. Reverts with
    /// TensorReaderTypeMismatch(typeCode, FLOAT_TYPES) for an integer or bool tensor,
    /// TensorReaderIndexOutOfRange(i, elementCount) past the last element.
    function floatBitsAt(bytes memory list, Tensor memory t, uint256 i) internal pure returns (uint64) {
        uint8 code = t.typeCode;
        if ((FLOAT_TYPES >> code) & 1 == 0) revert TensorReaderTypeMismatch(code, FLOAT_TYPES);
        uint256 size = _checkData(list, t);
        if (i >= t.elementCount) revert TensorReaderIndexOutOfRange(i, t.elementCount);
        // i < elementCount, and the data lies inside the list (_checkData): the offset is inside it too.
        unchecked {
            return uint64(_floatBits(list, t.dataAt + i * size, code));
        }
    }

    /// @notice The flat (row-major) index of the tensor's largest element: for a vector, its index; for shape
    /// [1, n], the index in the row. Any numeric type: integers and bools by value (int8, int32, int64
    /// signed), floats by their IEEE 754 value: -0 equals +0, -infinity is below every other number and
    /// +infinity above, and a NaN never wins (it is skipped, whatever its sign or payload). Ties go to the first
    /// index. Reverts with TensorReaderNoArgmax(elementCount) when no element is a number (no elements, or all
    /// NaN), TensorReaderMalformed at a bool byte other than 0 or 1, TensorReaderTypeMismatch(typeCode,
    /// NUMERIC_TYPES) for an unknown type code.
    function argmax(bytes memory list, Tensor memory t) internal pure returns (uint256 index) {
        uint8 code = t.typeCode;
        if ((NUMERIC_TYPES >> code) & 1 == 0) revert TensorReaderTypeMismatch(code, NUMERIC_TYPES);
        uint256 size = _checkData(list, t);
        bool isFloat = (FLOAT_TYPES >> code) & 1 == 1;
        uint256 n = t.elementCount;
        uint256 offset = t.dataAt;
        bool found;
        int256 best;
        // offset runs over the data, which lies inside the list (_checkData): no overflow, no read past the end.
        unchecked {
            for (uint256 i; i < n; ++i) {
                bool isNumber = true;
                int256 key;
                if (isFloat) (isNumber, key) = _floatKey(_floatBits(list, offset, code), code);
                else key = _integer(list, offset, code);
                if (isNumber && (!found || key > best)) (found, best, index) = (true, key, i);
                offset += size;
            }
        }
        if (!found) revert TensorReaderNoArgmax(n);
    }

    /// @notice The size in bytes of an element of type `typeCode`, or 0 for a code TML1 does not define.
    function elementSize(uint8 typeCode) internal pure returns (uint256) {
        if (typeCode == UINT8 || typeCode == INT8 || typeCode == BOOL) return 1;
        if (typeCode == FLOAT32 || typeCode == INT32) return 4;
        if (typeCode == INT64 || typeCode == FLOAT64) return 8;
        return 0;
    }

    /// @dev Reads the tensor starting at `start` into `t` and returns the offset just after its data, checking
    /// what the lazy readers check (the library's notes list it). `start` is at most the list's length.
    function _read(bytes memory list, uint256 start, Tensor memory t) private pure returns (uint256 end) {
        uint256 length = list.length;
        // A memory array is shorter than 2^64 bytes (more memory could not be paid for) and `start` is at most its
        // length; each offset below adds at most 2 + 65535 + 2 + 8 * 255 to an offset inside it (every step is
        // checked against the length before the next) and the element count is at most the length + 1 times a
        // dimension below 2^53 while it is formed: no sum or product can overflow.
        unchecked {
            if (start + 2 > length) revert TensorReaderMalformed(start);
            uint256 nameLength = _swap16(_word(list, start) >> 240);
            if (nameLength == 0) revert TensorReaderMalformed(start);
            uint256 nameAt = start + 2;
            uint256 typeAt = nameAt + nameLength;
            if (typeAt > length) revert TensorReaderMalformed(nameAt);
            if (typeAt == length) revert TensorReaderMalformed(typeAt);
            uint256 head = _word(list, typeAt);
            uint8 typeCode = uint8(head >> 248);
            uint256 size = elementSize(typeCode);
            if (size == 0) revert TensorReaderMalformed(typeAt);
            if (typeAt + 1 == length) revert TensorReaderMalformed(typeAt + 1);
            uint8 rank = uint8(head >> 240);
            uint256 dimsAt = typeAt + 2;
            uint256 dataAt = dimsAt + 8 * uint256(rank);
            uint256 elements = 1;
            for (uint256 dimAt = dimsAt; dimAt < dataAt; dimAt += 8) {
                if (dimAt + 8 > length) revert TensorReaderMalformed(dimAt);
                uint256 d = _swap64(_word(list, dimAt) >> 192);
                if (d > MAX_DIMENSION) revert TensorReaderMalformed(dimAt);
                // Saturates above the length, which no valid count exceeds; a later 0 still makes it 0.
                elements *= d;
                if (elements > length) elements = length + 1;
            }
            // dataAt <= length here: the last dimension ended at dataAt (or, with rank 0, the rank byte before it).
            if (elements > (length - dataAt) / size) revert TensorReaderMalformed(dataAt);
            (t.nameAt, t.nameLength, t.typeCode, t.rank) = (nameAt, nameLength, typeCode, rank);
            (t.dimsAt, t.elementCount, t.dataAt) = (dimsAt, elements, dataAt);
            end = dataAt + elements * size;
        }
    }

    /// @dev Reverts unless the view's data lies inside `list` (always so for a view read from it); returns the
    /// element size. The view's type code is known to the caller to be one of TML1's.
    function _checkData(bytes memory list, Tensor memory t) private pure returns (uint256 size) {
        size = elementSize(t.typeCode);
        uint256 length = list.length;
        uint256 dataAt = t.dataAt;
        if (dataAt > length || t.elementCount > (length - dataAt) / size) revert TensorReaderMalformed(dataAt);
    }

    /// @dev Reverts unless the view's dimensions lie inside `list` (always so for a view read from it).
    function _checkDims(bytes memory list, Tensor memory t) private pure {
        uint256 length = list.length;
        uint256 dimsAt = t.dimsAt;
        if (dimsAt > length || t.rank > (length - dimsAt) / 8) revert TensorReaderMalformed(dimsAt);
    }

    /// @dev Reverts with TensorReaderMalformed at the first byte of list[from:end] (inside the list) that is
    /// neither 0 nor 1.
    function _checkBools(bytes memory list, uint256 from, uint256 end) private pure {
        // from <= end <= length < 2^64: no overflow.
        unchecked {
            for (uint256 offset = from; offset < end; offset += 32) {
                uint256 bad = _word(list, offset) & NOT_BOOL;
                uint256 left = end - offset;
                // Keep only the bytes before `end` (the word may run past it).
                if (left < 32) bad &= ~(type(uint256).max >> (8 * left));
                if (bad != 0) {
                    uint256 k;
                    while ((bad >> (248 - 8 * k)) & 0xff == 0) ++k;
                    revert TensorReaderMalformed(offset + k);
                }
            }
        }
    }

    /// @dev The integer element (a type of INTEGER_TYPES) at `offset`, inside the list; a bool byte other than 0
    /// or 1 reverts.
    function _integer(bytes memory list, uint256 offset, uint8 code) private pure returns (int256) {
        uint256 word = _word(list, offset);
        if (code == INT8) return int8(uint8(word >> 248));
        if (code == INT32) return int32(uint32(_swap32(word >> 224)));
        if (code == INT64) return int64(uint64(_swap64(word >> 192)));
        uint256 b = word >> 248;
        if (code == BOOL && b > 1) revert TensorReaderMalformed(offset);
        return int256(b);
    }

    /// @dev The bits of the float element (FLOAT32 or FLOAT64) at `offset`, inside the list.
    function _floatBits(bytes memory list, uint256 offset, uint8 code) private pure returns (uint256) {
        uint256 word = _word(list, offset);
        return code == FLOAT32 ? _swap32(word >> 224) : _swap64(word >> 192);
    }

    /// @dev An integer that orders floats as their IEEE 754 values, from their bits: the magnitude bits (which,
    /// for numbers, order as the values do), negated for a set sign bit, so -0 and +0 both give 0. `isNumber` is
    /// false for a NaN (a magnitude above infinity's).
    function _floatKey(uint256 bits, uint8 code) private pure returns (bool isNumber, int256 key) {
        bool negative;
        uint256 magnitude;
        if (code == FLOAT32) {
            (negative, magnitude) = (bits >> 31 == 1, bits & F32_MAGNITUDE);
            if (magnitude > F32_INFINITY) return (false, 0);
        } else {
            (negative, magnitude) = (bits >> 63 == 1, bits & F64_MAGNITUDE);
            if (magnitude > F64_INFINITY) return (false, 0);
        }
        // magnitude < 2^63: it and its negation fit int256.
        key = negative ? -int256(magnitude) : int256(magnitude);
        isNumber = true;
    }

    /// @dev Whether the name at list[bAt:bAt + bLength] comes strictly after the one at list[aAt:aAt + aLength]
    /// (both inside the list), comparing unsigned bytes, a prefix first.
    function _after(
        bytes memory list,
        uint256 aAt,
        uint256 aLength,
        uint256 bAt,
        uint256 bLength
    ) private pure returns (bool) {
        uint256 shorter = aLength < bLength ? aLength : bLength;
        // Offsets and lengths lie inside the list, shorter than 2^64: no overflow.
        unchecked {
            for (uint256 k; k < shorter; k += 32) {
                uint256 a = _word(list, aAt + k);
                uint256 b = _word(list, bAt + k);
                uint256 left = shorter - k;
                if (left < 32) (a, b) = (a >> (8 * (32 - left)), b >> (8 * (32 - left)));
                if (a != b) return b > a;
            }
        }
        return bLength > aLength;
    }

    /// @dev keccak256 of list[from:from + length], which the caller has checked lies inside the list; hashed in
    /// place instead of copied.
    function _hash(bytes memory list, uint256 from, uint256 length) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(add(add(list, 0x20), from), length)
        }
    }

    /// @dev The 32 bytes of `list` from `offset` as a big-endian word: one mload instead of a byte-by-byte copy.
    /// The caller uses only bytes it has checked lie inside the list; the word may extend up to 31 bytes past
    /// the list's end, into memory that is only read, and whose bytes the caller shifts or masks away.
    function _word(bytes memory list, uint256 offset) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(add(list, 0x20), offset))
        }
    }

    /// @dev The 2-byte value `v` with its bytes swapped: a little-endian u16 read big-endian, made right.
    function _swap16(uint256 v) private pure returns (uint256) {
        return ((v & 0xff) << 8) | (v >> 8);
    }

    /// @dev The 4-byte value `v` (below 2^32) with its bytes reversed.
    function _swap32(uint256 v) private pure returns (uint256) {
        v = ((v & 0x00ff00ff) << 8) | ((v >> 8) & 0x00ff00ff);
        return ((v & 0xffff) << 16) | (v >> 16);
    }

    /// @dev The 8-byte value `v` (below 2^64) with its bytes reversed.
    function _swap64(uint256 v) private pure returns (uint256) {
        v = ((v & 0x00ff00ff00ff00ff) << 8) | ((v >> 8) & 0x00ff00ff00ff00ff);
        v = ((v & 0x0000ffff0000ffff) << 16) | ((v >> 16) & 0x0000ffff0000ffff);
        return ((v & 0xffffffff) << 32) | (v >> 32);
    }
}
