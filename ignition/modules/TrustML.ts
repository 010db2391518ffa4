/**
 * The TrustML suite as one Hardhat Ignition module: ModelRegistry, VerifierStaking, BlockhashRandomness,
 * JobEscrow with its libraries (ESCROW_LIBRARIES, packages/sdk/src/libraries.ts) deployed and linked, ESCROW_ROLE
 * granted to the escrow, and either a TestToken (local and test networks) or an existing ERC-20 given as the
 * `token` parameter. Each library is a result named as in the deployment record (`escrowParamsLib`, …).
 *
 * Ignition builds modules statically, so what varies in shape (deploy a TestToken or not, which account sends
 * the governance call) is chosen when the module is built: `trustMLModule(options)`. What varies in value is a
 * module parameter (under the module id "TrustML"):
 *
 *   token             address of an existing ERC-20 (only without `testToken`)
 *   governance        admin of VerifierStaking, owner of JobEscrow and of the TestToken; sends the grantRole
 *   treasury          receives the protocol fee
 *   minVerifierStake  stake needed to opt in as a verifier, in base units (default DEFAULT_MIN_VERIFIER_STAKE)
 *   escrowParams      IJobEscrow.EscrowParams as an object (default DEFAULT_ESCROW_PARAMS)
 *
 * `scripts/deploy.ts` / `npx hardhat deploy-protocol` build and run it (src/deploy/deploy.ts). The default
 * export, for `npx hardhat ignition deploy ignition/modules/TrustML.ts --parameters params.json`, takes an
 * existing `token` and sends the grantRole from account 0, which must then be the `governance` parameter.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { id } from "ethers";
import { ESCROW_LIBRARIES, escrowLibraryEntries } from "../../packages/sdk/src/libraries";
import { DEFAULT_ESCROW_PARAMS, DEFAULT_MIN_VERIFIER_STAKE } from "../../packages/sdk/src/params";

export const MODULE_ID = "TrustML";

/** keccak256("ESCROW_ROLE"), as VerifierStaking.ESCROW_ROLE. */
export const ESCROW_ROLE = id("ESCROW_ROLE");

export interface TrustMLModuleOptions {
  /** Deploy a TestToken owned by `governance`; otherwise the `token` parameter names an existing ERC-20. */
  testToken: boolean;
  /**
   * The account that sends VerifierStaking.grantRole(ESCROW_ROLE, escrow): the `governance` parameter's address,
   * which must be one of the network's accounts. Default: account 0.
   */
  governanceSender?: string;
}

/** Builds the module for the given shape; see the file header for its parameters. */
export function trustMLModule({ testToken, governanceSender }: TrustMLModuleOptions) {
  return buildModule(MODULE_ID, (m) => {
    const governance = m.getParameter<string>("governance");
    const treasury = m.getParameter<string>("treasury");
    const minVerifierStake = m.getParameter<bigint>("minVerifierStake", DEFAULT_MIN_VERIFIER_STAKE);
    // A struct travels as an object keyed by field name; ethers encodes it as the tuple IJobEscrow.EscrowParams.
    const escrowParams = m.getParameter("escrowParams", { ...DEFAULT_ESCROW_PARAMS });

    const token = testToken
      ? m.contract("TestToken", [governance])
      : m.contractAt("IERC20", m.getParameter<string>("token"), { id: "Token" });

    const registry = m.contract("ModelRegistry");
    const staking = m.contract("VerifierStaking", [token, governance, minVerifierStake]);
    const randomness = m.contract("BlockhashRandomness");
    const libraries = Object.fromEntries(ESCROW_LIBRARIES.map((name) => [name, m.contract(name)]));
    const escrow = m.contract("JobEscrow", [token, registry, staking, randomness, treasury, governance, escrowParams], {
      libraries,
    });

    m.call(staking, "grantRole", [ESCROW_ROLE, escrow], {
      id: "GrantEscrowRole",
      from: governanceSender ?? m.getAccount(0),
    });

    return { token, registry, staking, randomness, escrow, ...escrowLibraryEntries((name) => libraries[name]) };
  });
}

/** For `npx hardhat ignition deploy`: an existing token, governance = account 0. */
export default trustMLModule({ testToken: false });
