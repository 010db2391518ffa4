// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IoSignatureLib} from "./libraries/IoSignatureLib.sol";
import {JobTermsLib} from "./libraries/JobTermsLib.sol";
import {ProtocolBounds} from "./libraries/ProtocolBounds.sol";

/// @title ModelRegistry
/// @notice Permissionless registry of ONNX models by content hash, with immutable versions and per-model terms.
contract ModelRegistry is IModelRegistry {
    /// @notice Largest model URI, in bytes.
    uint256 public constant MAX_URI_BYTES = ProtocolBounds.MAX_URI_BYTES;
    /// @notice Largest committee a model may ask for.
    uint256 public constant MAX_COMMITTEE_SIZE = ProtocolBounds.MAX_COMMITTEE_SIZE;
    /// @notice Largest owner royalty: 20% of the fee.
    uint256 public constant MAX_ROYALTY_BPS = 2000;
    /// @notice Largest tolerance: 1.0, in parts per billion.
    uint256 public constant MAX_TOLERANCE = 1e9;

    uint256 private _modelCount;
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(uint256 version => ModelVersion)) private _versions;
    /// @dev Where each account published each content hash, packed as (modelId << 32 | version); zero when it did
    /// not. Keyed by publisher, so nobody can take a hash from the account that publishes those bytes.
    mapping(address publisher => mapping(bytes32 contentHash => uint256 location)) private _publishedAt;
    /// @dev `JobTermsLib.hash` of the snapshot a new job takes; zero for an unknown or deprecated model.
    mapping(uint256 modelId => bytes32 snapshotHash) private _jobTermsHashes;

    modifier onlyModelOwner(uint256 modelId) {
        address owner = _existing(modelId).owner;
        if (msg.sender != owner) revert ModelRegistryNotModelOwner(modelId, msg.sender);
        _;
    }

    /// @inheritdoc IModelRegistry
    function registerModel(
        bytes32 contentHash,
        string calldata uri,
        ModelTerms calldata terms,
        bytes32 weightsRoot,
        bytes calldata ioSignature
    ) external returns (uint256 modelId) {
        _checkTerms(terms);
        modelId = ++_modelCount;
        _requireWeightsRoot(terms.mode, weightsRoot, modelId, 1);
        Model storage model = _models[modelId];
        model.owner = msg.sender;
        model.terms = terms;
        emit ModelRegistered(modelId, msg.sender, contentHash, uri, weightsRoot, terms);
        _publish(modelId, model, contentHash, uri, weightsRoot, ioSignature);
        _storeJobTermsHash(modelId, model);
    }

    /// @inheritdoc IModelRegistry
    function publishVersion(
        uint256 modelId,
        bytes32 contentHash,
        string calldata uri,
        bytes32 weightsRoot,
        bytes calldata ioSignature
    ) external onlyModelOwner(modelId) returns (uint256 version) {
        Model storage model = _models[modelId];
        if (model.deprecated) revert ModelRegistryDeprecated(modelId);
        _requireWeightsRoot(model.terms.mode, weightsRoot, modelId, model.versionCount + 1);
        version = _publish(modelId, model, contentHash, uri, weightsRoot, ioSignature);
        _storeJobTermsHash(modelId, model);
    }

    /// @inheritdoc IModelRegistry
    function setTerms(uint256 modelId, ModelTerms calldata terms) external onlyModelOwner(modelId) {
        _checkTerms(terms);
        Model storage model = _models[modelId];
        if (terms.mode == VerificationMode.Proven) {
            // Read only when switching to (or staying in) Proven: other terms cost no more than before.
            uint256 latest = model.versionCount;
            _requireWeightsRoot(terms.mode, _versions[modelId][latest].weightsRoot, modelId, latest);
        }
        model.terms = terms;
        emit TermsUpdated(modelId, terms);
        _storeJobTermsHash(modelId, model);
    }

    /// @inheritdoc IModelRegistry
    function deprecate(uint256 modelId) external onlyModelOwner(modelId) {
        Model storage model = _models[modelId];
        if (model.deprecated) revert ModelRegistryDeprecated(modelId);
        model.deprecated = true;
        delete _jobTermsHashes[modelId];
        emit ModelDeprecated(modelId);
    }

    /// @inheritdoc IModelRegistry
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        _models[modelId].pendingOwner = newOwner;
        emit ModelOwnershipTransferStarted(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function acceptModelOwnership(uint256 modelId) external {
        Model storage model = _existing(modelId);
        if (msg.sender != model.pendingOwner) revert ModelRegistryNotPendingOwner(modelId, msg.sender);
        address previousOwner = model.owner;
        model.owner = msg.sender;
        model.pendingOwner = address(0);
        emit ModelOwnershipTransferred(modelId, previousOwner, msg.sender);
        _storeJobTermsHash(modelId, model);
    }

    /// @inheritdoc IModelRegistry
    function jobTermsHash(uint256 modelId) external view returns (bytes32 snapshotHash) {
        snapshotHash = _jobTermsHashes[modelId];
        if (snapshotHash == bytes32(0)) {
            // Only an unknown or a deprecated model has no hash (a keccak256 output is never zero in practice).
            _existing(modelId);
            revert ModelRegistryDeprecated(modelId);
        }
    }

    /// @inheritdoc IModelRegistry
    function hashJobTerms(JobTerms calldata snapshot) external pure returns (bytes32) {
        return JobTermsLib.hash(snapshot);
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    /// @inheritdoc IModelRegistry
    function getModels(uint256 fromId, uint256 count) external view returns (Model[] memory models) {
        uint256 total = _modelCount;
        if (fromId == 0) fromId = 1;
        uint256 available = fromId > total ? 0 : total - fromId + 1;
        if (count > available) count = available;
        models = new Model[](count);
        for (uint256 i; i < count; ++i) {
            models[i] = _models[fromId + i];
        }
    }

    /// @inheritdoc IModelRegistry
    function getVersion(uint256 modelId, uint256 version) external view returns (ModelVersion memory) {
        return _existingVersion(modelId, version);
    }

    /// @inheritdoc IModelRegistry
    function getWeightsRoot(uint256 modelId, uint256 version) external view returns (bytes32) {
        return _existingVersion(modelId, version).weightsRoot;
    }

    /// @inheritdoc IModelRegistry
    function findContentHash(
        address publisher,
        bytes32 contentHash
    ) external view returns (uint256 modelId, uint256 version) {
        uint256 location = _publishedAt[publisher][contentHash];
        return (location >> 32, uint32(location));
    }

    /// @inheritdoc IModelRegistry
    function jobTerms(uint256 modelId) public view returns (JobTerms memory snapshot) {
        Model storage model = _existing(modelId);
        if (model.deprecated) revert ModelRegistryDeprecated(modelId);
        uint256 version = model.versionCount;
        ModelVersion storage latest = _versions[modelId][version];
        snapshot = JobTerms({
            owner: model.owner,
            version: version,
            contentHash: latest.contentHash,
            inputSize: latest.inputSize,
            terms: model.terms
        });
    }

    function _publish(
        uint256 modelId,
        Model storage model,
        bytes32 contentHash,
        string calldata uri,
        bytes32 weightsRoot,
        bytes calldata ioSignature
    ) private returns (uint256 version) {
        if (contentHash == bytes32(0)) revert ModelRegistryZeroContentHash();
        uint256 location = _publishedAt[msg.sender][contentHash];
        if (location != 0) revert ModelRegistryContentHashTaken(contentHash, location >> 32, uint32(location));
        if (bytes(uri).length == 0 || bytes(uri).length > MAX_URI_BYTES) {
            revert ModelRegistryInvalidUri(bytes(uri).length, MAX_URI_BYTES);
        }
        version = model.versionCount + 1;
        model.versionCount = uint32(version);
        ModelVersion storage published = _versions[modelId][version];
        published.contentHash = contentHash;
        published.publishedAt = uint64(block.timestamp);
        published.uri = uri;
        // Field by field: assigning the whole struct would write the root's and the signature's words even when
        // they are zero (2,200 gas more each for a version without them).
        if (weightsRoot != bytes32(0)) published.weightsRoot = weightsRoot;
        if (ioSignature.length != 0) {
            published.inputSize = IoSignatureLib.inputSize(ioSignature);
            published.ioSignatureHash = keccak256(ioSignature);
        }
        _publishedAt[msg.sender][contentHash] = (modelId << 32) | version;
        emit VersionPublished(modelId, version, contentHash, uri, weightsRoot, ioSignature);
    }

    /// @dev Rewrites the stored hash after any part of the snapshot changed; a deprecated model keeps none.
    function _storeJobTermsHash(uint256 modelId, Model storage model) private {
        if (model.deprecated) return;
        _jobTermsHashes[modelId] = JobTermsLib.hash(jobTerms(modelId));
    }

    function _existing(uint256 modelId) private view returns (Model storage model) {
        model = _models[modelId];
        if (model.owner == address(0)) revert ModelRegistryUnknownModel(modelId);
    }

    /// @dev Reverts unless model `modelId` has a version `version` (ModelRegistryUnknownModel, ...UnknownVersion).
    function _existingVersion(uint256 modelId, uint256 version) private view returns (ModelVersion storage) {
        Model storage model = _existing(modelId);
        if (version == 0 || version > model.versionCount) revert ModelRegistryUnknownVersion(modelId, version);
        return _versions[modelId][version];
    }

    /// @dev A model in Proven mode always has a weights root on its latest version: checked when a version is
    /// registered or published under Proven terms, and when the terms switch to Proven.
    function _requireWeightsRoot(
        VerificationMode mode,
        bytes32 weightsRoot,
        uint256 modelId,
        uint256 version
    ) private pure {
        if (mode == VerificationMode.Proven && weightsRoot == bytes32(0)) {
            revert ModelRegistryWeightsRootRequired(modelId, version);
        }
    }

    /// @dev The same bounds in every mode, Proven included, where the committee size and tolerances have no effect.
    function _checkTerms(ModelTerms calldata terms) private pure {
        uint256 size = terms.committeeSize;
        if (size == 0 || size > MAX_COMMITTEE_SIZE || size % 2 == 0) revert ModelRegistryInvalidCommitteeSize(size);
        if (terms.royaltyBps > MAX_ROYALTY_BPS) revert ModelRegistryRoyaltyTooHigh(terms.royaltyBps, MAX_ROYALTY_BPS);
        if (terms.relTolerance > MAX_TOLERANCE) revert ModelRegistryToleranceTooHigh(terms.relTolerance, MAX_TOLERANCE);
        if (terms.absTolerance > MAX_TOLERANCE) revert ModelRegistryToleranceTooHigh(terms.absTolerance, MAX_TOLERANCE);
    }
}
