// solidity-coverage settings for `npm run coverage` (hardhat coverage).
// It compiles through the same hardhat.config.ts, so the offline solc-js override applies here too.
module.exports = {
  // Test doubles are not protocol code. Everything else (including examples/) is measured.
  skipFiles: ["mocks/"],
};
