/** The TrustML Hardhat tasks; hardhat.config.ts imports this file. `npx hardhat help <task>` for each. */
import "./deploy";
import "./model";
import "./model-owner";
import "./stake";
import "./job";
import "./governance";
