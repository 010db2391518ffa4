/**
 * The TypeChain factories the off-chain code connects with, each from its own file. The typechain-types index
 * loads every contract's factory (mocks, examples, OpenZeppelin's) and ts-node transpiles each of them anew in
 * every process: some 2.5 s of start-up for each worker, verifier and CLI process, a third of it.
 */
export { JobEscrow__factory } from "../typechain-types/factories/contracts/JobEscrow__factory";
export { ModelRegistry__factory } from "../typechain-types/factories/contracts/ModelRegistry__factory";
export { VerifierStaking__factory } from "../typechain-types/factories/contracts/VerifierStaking__factory";
export { TestToken__factory } from "../typechain-types/factories/contracts/tokens/TestToken__factory";
export { IJobEscrow__factory } from "../typechain-types/factories/contracts/interfaces/IJobEscrow__factory";
export { IRandomnessSource__factory } from "../typechain-types/factories/contracts/interfaces/IRandomnessSource__factory";
export { IModelRegistry__factory } from "../typechain-types/factories/contracts/interfaces/IModelRegistry__factory";
export { IVerifierStaking__factory } from "../typechain-types/factories/contracts/interfaces/IVerifierStaking.sol/IVerifierStaking__factory";
export { ProvenJudge__factory } from "../typechain-types/factories/contracts/libraries/ProvenJudge__factory";
export { IERC20__factory } from "../typechain-types/factories/@openzeppelin/contracts/token/ERC20/IERC20__factory";
