/** The TrustML Hardhat tasks; hardhat.config.ts imports this file. `npx hardhat help <task>` for each. */
import "./deploy";
import "./model";
import "./stake";
import "./job";
import "./governance";
