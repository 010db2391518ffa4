/**
 * The SDK modules the explorer uses, from the SDK's sources: only those free of Node's modules (never index.ts,
 * client.ts or deployment.ts, which read files).
 */
export {
  nameOrUnknown,
  parseSearch,
  ProtocolHistory,
  type ChainRef,
  type HistoryEvent,
  type JobRecord,
  type JobSummary,
  type ModelRecord,
  type NetworkStats,
  type OperatorRecord,
  type OperatorSummary,
  type SearchResult,
  type SeatView,
  type SlashView,
  type TensorsView,
  type TransactionView,
  type VersionView,
} from "../../sdk/src/history";
export {
  parseAddressRef,
  parseJobRef,
  parseModelRef,
  parseNonce,
  type AddressRef,
  type JobRef,
  type ModelRef,
} from "../../sdk/src/refs";
export { parseDeployment, type Deployment } from "../../sdk/src/deployment-record";
export { TrustMLError } from "../../sdk/src/errors";
export { formatJobId } from "../../sdk/src/job";
export { VerificationMode, type ModelTerms } from "../../sdk/src/params";
export type { TensorJson } from "../../sdk/src/tensor-json";
