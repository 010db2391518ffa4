// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IModelRegistry
/// @notice Publishes ONNX models by the sha256 of their bytes, with ordered immutable versions, per-model terms
/// (price, verification mode, committee size, numeric tolerance, royalty) and a two-step owner transfer.
/// @dev Registration is permissionless. Model ids start at 1 and are sequential, so `modelCount()` and
/// `getModel(id)` list every model without an indexer. Versions are numbered from 1; a version never changes
/// once published. A content hash identifies bytes, not who owns them: each account can publish a content hash
/// once, and any other account can publish the same bytes as its own model, so a front-runner that copies a
/// pending registration never stops the author from publishing its model.
/// A version of an integer profile model (docs/FRAUD-PROOFS.md) also carries its `weightsRoot`, the Merkle root
/// over the model's neurons that a Proven-mode fraud proof checks a neuron against. The registry cannot read the
/// file, so it stores the root the owner commits to; workers and verifiers recompute it from the file and refuse
/// a version whose root does not match.
interface IModelRegistry {
    /// @notice How results of a model's jobs are checked before the worker is paid.
    /// @dev None: the result settles on submission, the worker's collateral is the only guarantee.
    /// Optimistic: a challenge window; a staked verifier may challenge with a bond, which escalates to a
    /// committee vote. Committee: a committee is drawn on submission and votes by commit-reveal.
    /// Proven: results of integer profile models, posted with every hidden vector and open for a challenge window
    /// to a one-transaction fraud proof by anyone (`IJobEscrow.proveFraud`, docs/FRAUD-PROOFS.md); the model's
    /// latest version always has a non-zero `weightsRoot`.
    enum VerificationMode {
        None,
        Optimistic,
        Committee,
        Proven
    }

    /// @notice What a job on a model costs and how it is verified.
    /// @dev Tolerances are in parts per billion (1e-9): two floats `a` (posted) and `b` (re-executed) agree when
    /// `|a - b| <= max(absTolerance * 1e-9, relTolerance * 1e-9 * |b|)`. Integers always compare exactly.
    /// In Proven mode neither the committee size nor the tolerances have any effect (a neuron is recomputed exactly
    /// by the judge, never voted on), but they are checked against the same bounds as in every mode, so that the
    /// same terms stay valid when the owner switches modes.
    struct ModelTerms {
        uint96 price; // token units paid by the requester for one job
        VerificationMode mode;
        uint8 committeeSize; // odd, 1..15; used by Committee mode and by escalated Optimistic challenges
        uint16 royaltyBps; // share of the fee paid to the model owner, at most MAX_ROYALTY_BPS
        uint32 relTolerance; // parts per billion, at most MAX_TOLERANCE
        uint32 absTolerance; // parts per billion, at most MAX_TOLERANCE
    }

    /// @notice A model as stored: its owner, the pending owner of a two-step transfer, its terms.
    struct Model {
        address owner;
        uint32 versionCount;
        bool deprecated;
        address pendingOwner;
        ModelTerms terms;
    }

    /// @notice One published version of a model: the sha256 of the ONNX file, where to fetch it, its declared
    /// input/output signature and, for an integer profile model, the Merkle root over its neurons.
    /// @dev `weightsRoot` is zero for a version that is not a profile model; a non-zero root is allowed in any mode,
    /// so that a model can switch to Proven later. See docs/FRAUD-PROOFS.md for the leaves and the tree.
    /// The signature (names, element types and fixed input shapes, docs/TENSOR-ENCODING.md "Model signatures") is
    /// stored as its hash, with the size it fixes for inputs; its bytes are in the version's `VersionPublished`.
    struct ModelVersion {
        bytes32 contentHash;
        uint64 publishedAt;
        uint64 inputSize; // bytes of every conforming input (IoSignatureLib.inputSize); 0 when none is declared
        string uri;
        bytes32 weightsRoot;
        bytes32 ioSignatureHash; // keccak256 of the declared signature's TMS1 bytes; 0 when none is declared
    }

    /// @notice The snapshot a job takes of a model when it is requested.
    /// @dev `inputSize` is the latest version's: the escrow refuses an inline input of another size when it is not 0.
    struct JobTerms {
        address owner;
        uint256 version;
        bytes32 contentHash;
        uint64 inputSize;
        ModelTerms terms;
    }

    /// @notice Emitted when a model is registered, with its first version's content hash, URI and weights root
    /// (zero when it is not a profile model); `VersionPublished` for version 1 follows.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 indexed contentHash,
        string uri,
        bytes32 weightsRoot,
        ModelTerms terms
    );
    /// @notice Emitted for every published version, including version 1 at registration; `weightsRoot` is zero for
    /// a version that is not a profile model, `ioSignature` empty for a version that declares no signature.
    event VersionPublished(
        uint256 indexed modelId,
        uint256 indexed version,
        bytes32 indexed contentHash,
        string uri,
        bytes32 weightsRoot,
        bytes ioSignature
    );
    /// @notice Emitted when the owner changes the terms; jobs already requested keep their snapshot.
    event TermsUpdated(uint256 indexed modelId, ModelTerms terms);
    /// @notice Emitted when the owner deprecates a model; no new job can be requested on it.
    event ModelDeprecated(uint256 indexed modelId);
    /// @notice Emitted when the owner offers the model to `newOwner` (zero cancels a pending offer).
    event ModelOwnershipTransferStarted(uint256 indexed modelId, address indexed owner, address indexed newOwner);
    /// @notice Emitted when the pending owner accepts the model.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice No model has this id.
    error ModelRegistryUnknownModel(uint256 modelId);
    /// @notice The model has no version with this number (versions start at 1).
    error ModelRegistryUnknownVersion(uint256 modelId, uint256 version);
    /// @notice Only the model's owner may do this.
    error ModelRegistryNotModelOwner(uint256 modelId, address account);
    /// @notice Only the pending owner may accept the model.
    error ModelRegistryNotPendingOwner(uint256 modelId, address account);
    /// @notice The caller already published this content hash, as `version` of `modelId`.
    error ModelRegistryContentHashTaken(bytes32 contentHash, uint256 modelId, uint256 version);
    /// @notice A content hash of zero is not a sha256 of any model file.
    error ModelRegistryZeroContentHash();
    /// @notice The URI is empty or longer than MAX_URI_BYTES.
    error ModelRegistryInvalidUri(uint256 length, uint256 maxLength);
    /// @notice The committee size is not odd or not within 1..MAX_COMMITTEE_SIZE.
    error ModelRegistryInvalidCommitteeSize(uint256 committeeSize);
    /// @notice The royalty exceeds MAX_ROYALTY_BPS.
    error ModelRegistryRoyaltyTooHigh(uint256 royaltyBps, uint256 maxRoyaltyBps);
    /// @notice A tolerance exceeds MAX_TOLERANCE parts per billion.
    error ModelRegistryToleranceTooHigh(uint256 tolerance, uint256 maxTolerance);
    /// @notice The model is deprecated: no new job or version.
    error ModelRegistryDeprecated(uint256 modelId);
    /// @notice A model in Proven mode needs a non-zero weights root on its latest version: `version` of `modelId`
    /// (the version being registered or published, or the latest one when switching the terms to Proven) has none.
    error ModelRegistryWeightsRootRequired(uint256 modelId, uint256 version);

    /// @notice Registers a model by the sha256 of its ONNX file; the caller becomes its owner.
    /// @dev Requirements:
    /// - `contentHash` is non-zero and not yet published by the caller (other accounts' publications of the same
    ///   bytes do not count);
    /// - `uri` is 1..MAX_URI_BYTES bytes (`ipfs://`, `https://` or `file://` by convention);
    /// - `terms` pass the bounds of `setTerms`;
    /// - `weightsRoot` is non-zero when `terms.mode` is Proven (ModelRegistryWeightsRootRequired);
    /// - `ioSignature` is empty or canonical TMS1 (IoSignatureLib.IoSignatureMalformed).
    /// @param weightsRoot The Merkle root over the neurons of an integer profile model (docs/FRAUD-PROOFS.md), or
    /// zero for any other model. The registry cannot check it against the file: workers and verifiers do, and refuse
    /// a version whose root they cannot recompute.
    /// @param ioSignature The version's declared inputs and outputs (TMS1, docs/TENSOR-ENCODING.md): names, element
    /// types and fixed input shapes, so that requesters check an input without the model file and the escrow refuses
    /// an inline input of the wrong size. Empty declares none (any input is taken, and checked only by workers).
    /// Workers refuse a version whose file does not accept its signature.
    /// @return modelId The new model's id; its first version is 1.
    function registerModel(
        bytes32 contentHash,
        string calldata uri,
        ModelTerms calldata terms,
        bytes32 weightsRoot,
        bytes calldata ioSignature
    ) external returns (uint256 modelId);

    /// @notice Publishes a new version of a model; new jobs run on the latest version.
    /// @dev Requirements: caller is the owner; the model is not deprecated; hash, URI, weights root and signature as
    /// in `registerModel` (a Proven model's new version needs a non-zero root, ModelRegistryWeightsRootRequired).
    /// @return version The new version's number.
    function publishVersion(
        uint256 modelId,
        bytes32 contentHash,
        string calldata uri,
        bytes32 weightsRoot,
        bytes calldata ioSignature
    ) external returns (uint256 version);

    /// @notice Replaces the terms for jobs requested from now on.
    /// @dev Requirements: caller is the owner; `committeeSize` odd in 1..MAX_COMMITTEE_SIZE;
    /// `royaltyBps` <= MAX_ROYALTY_BPS; each tolerance <= MAX_TOLERANCE; when `terms.mode` is Proven, the latest
    /// version has a non-zero weights root (ModelRegistryWeightsRootRequired).
    function setTerms(uint256 modelId, ModelTerms calldata terms) external;

    /// @notice Stops new jobs on the model for good; jobs in flight are not affected.
    /// @dev Requirements: caller is the owner; the model is not already deprecated.
    function deprecate(uint256 modelId) external;

    /// @notice Offers the model to `newOwner`, who must accept; zero cancels a pending offer.
    /// @dev Requirements: caller is the owner.
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /// @notice Accepts a model offered to the caller.
    /// @dev Requirements: caller is the pending owner.
    function acceptModelOwnership(uint256 modelId) external;

    /// @notice The snapshot a new job takes: owner, latest version, its content hash and input size, and the terms.
    /// @dev Reverts with ModelRegistryUnknownModel or ModelRegistryDeprecated, so a caller cannot start a
    /// job on a model that does not take jobs.
    function jobTerms(uint256 modelId) external view returns (JobTerms memory);

    /// @notice The hash of the snapshot a new job takes, `hashJobTerms(jobTerms(modelId))`, so that a contract
    /// checks in one storage read that the terms a requester agreed to are still current.
    /// @dev Reads one storage word when the model takes jobs: the hash is stored and rewritten by every call that
    /// changes the snapshot (`registerModel`, `publishVersion`, `setTerms`, `acceptModelOwnership`). Reverts as
    /// `jobTerms` does, with ModelRegistryUnknownModel or ModelRegistryDeprecated.
    function jobTermsHash(uint256 modelId) external view returns (bytes32);

    /// @notice The hash of any snapshot: `keccak256(abi.encode(snapshot))`, as `jobTermsHash` computes it.
    /// @dev For integrators who compute off chain or in their own contracts what they agree to; contracts can use
    /// `JobTermsLib.hash` instead of calling the registry.
    function hashJobTerms(JobTerms calldata snapshot) external pure returns (bytes32);

    /// @notice Number of registered models; ids run from 1 to this number.
    function modelCount() external view returns (uint256);

    /// @notice A model's owner, pending owner, version count, deprecation and terms.
    function getModel(uint256 modelId) external view returns (Model memory);

    /// @notice Up to `count` models starting at id `fromId` (inclusive), for paging through the registry.
    function getModels(uint256 fromId, uint256 count) external view returns (Model[] memory models);

    /// @notice One version of a model, with its weights root (zero when it is not a profile model) and the hash of its
    /// signature (zero when it declares none).
    function getVersion(uint256 modelId, uint256 version) external view returns (ModelVersion memory);

    /// @notice The weights root of one version of a model (zero when it is not a profile model).
    /// @dev One storage read, without the version's URI: what a fraud proof on a job of `version` checks a neuron's
    /// leaf against. Reverts with ModelRegistryUnknownModel or ModelRegistryUnknownVersion.
    function getWeightsRoot(uint256 modelId, uint256 version) external view returns (bytes32);

    /// @notice The model and version in which `publisher` published `contentHash`, or (0, 0) when it never did.
    /// @dev The publisher is the account that called `registerModel` or `publishVersion`; the record stays with it
    /// when the model changes hands. Other accounts may have published the same bytes under other ids.
    function findContentHash(
        address publisher,
        bytes32 contentHash
    ) external view returns (uint256 modelId, uint256 version);
}
