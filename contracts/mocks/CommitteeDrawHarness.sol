// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVerifierStaking} from "../interfaces/IVerifierStaking.sol";
import {CommitteeDrawLib} from "../libraries/CommitteeDrawLib.sol";
import {PackedCommittee} from "../libraries/PackedCommittee.sol";
import {VoteWord} from "../libraries/VoteWord.sol";

/// @notice Runs the linked CommitteeDrawLib over one job's storage, as the escrow does, for
/// test/libraries/CommitteeDrawLib.test.ts; it has no other use. The job starts Submitted, claimed by `worker`;
/// `request` moves it to Drawing, `draw` to Voting.
contract CommitteeDrawHarness {
    IJobEscrow.JobState private _state;
    mapping(uint256 jobId => VoteWord) private _votes;
    mapping(uint256 word => uint256 packed) private _committee;
    IJobEscrow.EscrowParams private _params;
    /// @dev The job and staking contract of the last draw, for `members`.
    uint256 private _jobId;
    IVerifierStaking private _staking;

    constructor(address worker, uint32 commitWindow, uint32 revealWindow) {
        _state.status = IJobEscrow.JobStatus.Submitted;
        _state.worker = worker;
        _params.commitWindow = commitWindow;
        _params.revealWindow = revealWindow;
    }

    /// @notice Runs CommitteeDrawLib.request on this job; `refuse` as a submission that claims the job passes it.
    function request(IRandomnessSource randomness, uint256 jobId, bool refuse) external returns (bool) {
        return CommitteeDrawLib.request(_state, _params, randomness, jobId, refuse);
    }

    /// @notice Runs CommitteeDrawLib.draw on this job; `refuse` as `JobEscrow.drawCommittee` passes it.
    function draw(
        IRandomnessSource randomness,
        IVerifierStaking staking,
        uint256 jobId,
        uint256 size,
        address requester,
        address modelOwner,
        address challenger,
        bool refuse
    ) external returns (CommitteeDrawLib.Drawn) {
        (_jobId, _staking) = (jobId, staking);
        return
            CommitteeDrawLib.draw(
                _state,
                _votes,
                _committee,
                _params,
                randomness,
                staking,
                jobId,
                size,
                requester,
                modelOwner,
                challenger,
                refuse
            );
    }

    function state() external view returns (IJobEscrow.JobState memory) {
        return _state;
    }

    /// @notice The first `size` members of the committee drawn (zero addresses before a draw).
    function members(uint256 size) external view returns (address[] memory) {
        if (_state.seats == 0) return new address[](size);
        return _staking.verifiersAtLeaves(PackedCommittee.leaves(_votes[_jobId], _committee, size));
    }
}
