/**
 * The requester's client: connect to a deployment, read models and their terms and signatures, publish, request an
 * inference (the input checked against the version's signature before anything is paid), wait for its result,
 * decode it, settle or refund a job, deposit and withdraw, and re-verify a result locally.
 *
 * Every call checks its arguments and fails with a TrustMLError whose `code` names the problem; a transaction that
 * reverts fails with code "REVERTED" and the protocol's error decoded by name
 * (`JobEscrowTermsChanged(modelId=1, …)`).
 */
import {
  Contract,
  EventLog,
  type ContractEventName,
  getAddress,
  getBytes,
  hexlify,
  isAddress,
  isHexString,
  keccak256,
  type BigNumberish,
  type ContractRunner,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { compareOutputs, decodeTensors, encodeTensors, CodecError, type Comparison, type NamedTensors } from "./codec";
import { loadDeployment, type Deployment } from "./deployment";
import { describeError, findRevertData, TrustMLError, type ErrorSource, type TrustMLErrorCode } from "./errors";

export { TrustMLError, type TrustMLErrorCode } from "./errors";
import { LogReader, type LogReaderOptions } from "./events";
import { formatJobId, jobFromTx, toJob, toSettlement, type Job, type Settlement } from "./job";
import { isTerminalStatus, JobOutcome, JobStatus, VerificationMode, type ModelTerms } from "./params";
import {
  checkInputs,
  declaredSignature,
  encodeSignature,
  NO_SIGNATURE_HASH,
  SignatureError,
  SignatureMismatchError,
  type IoSignature,
} from "./signature";
import { jobTermsHash, toJobTerms, toModelTerms, type JobTerms } from "./terms";
import {
  committeeDrawLibAbi,
  erc20Abi,
  escrowParamsLibAbi,
  jobEscrowAbi,
  modelRegistryAbi,
  provenJudgeAbi,
  testTokenAbi,
  verifierStakingAbi,
} from "./abi";

/** The contracts a client talks to: from a deployment record, or given one by one. */
export interface ProtocolAddresses {
  registry: string;
  escrow: string;
  staking?: string;
  /** The fee token; read from the escrow when not given. */
  token?: string;
}

export interface ConnectOptions {
  /** A signer to send transactions (and read), or a provider to read only. */
  runner: Signer | Provider;
  /** A deployment record (deployments/<network>.json), or the path of one. */
  deployment?: Deployment | string;
  /** Addresses, when there is no deployment record. */
  addresses?: ProtocolAddresses;
  /** First block to read events from: the deployment's start block by default, else 0. */
  fromBlock?: number;
  /** How events are read: the largest block range of one eth_getLogs (default 10,000), retries, backoff. */
  logs?: LogReaderOptions;
}

/** One version of a model, with its declared signature when it has one. */
export interface VersionInfo {
  modelId: bigint;
  version: bigint;
  contentHash: string;
  uri: string;
  publishedAt: bigint;
  weightsRoot: string;
  /** The exact byte size of a conforming input; 0n when no signature is declared. */
  inputSize: bigint;
  /** keccak256 of the signature's bytes; the zero hash when none is declared. */
  signatureHash: string;
  signature: IoSignature | null;
}

/** A model as the registry has it. */
export interface ModelInfo {
  id: bigint;
  owner: string;
  pendingOwner: string | null;
  deprecated: boolean;
  versionCount: bigint;
  terms: ModelTerms;
}

/** What to publish: the file's sha256 and where to fetch it, the terms, and optionally a signature and root. */
export interface PublishOptions {
  contentHash: string;
  uri: string;
  terms: ModelTerms;
  signature?: IoSignature | null;
  weightsRoot?: string;
}

/** How a request pays its fee. "auto" lets the escrow decide (the deposit when it covers the fee, else tokens). */
export type Payment = "auto" | "deposit" | "tokens";

export interface RequestOptions {
  modelId: BigNumberish;
  /** The input: tensors, or their canonical bytes. */
  input: NamedTensors | Uint8Array | string;
  /** Seconds from now (wall clock, never earlier than the chain's clock), or a Date. Default: one hour. */
  deadline?: number | Date;
  /** The terms agreed to, as read earlier (`client.terms`); the current ones by default. */
  terms?: JobTerms;
  /** Gas for the consumer callback; only a contract requester takes one. Default 0. */
  callbackGasLimit?: number;
  /** Default "auto". With "deposit", a deposit that does not cover the fee is an error before anything is sent. */
  payment?: Payment;
  /** Approve the escrow for the fee when the allowance is short (payment "tokens" or "auto"). Default true. */
  approve?: boolean;
}

/** A job's result as far as it has come. */
export interface JobResult {
  jobId: bigint;
  status: keyof typeof JobStatus;
  /** Set once the job ended (Settled, Rejected, Refunded). */
  outcome?: keyof typeof JobOutcome;
  worker?: string;
  /** The posted output, once submitted. */
  output?: Uint8Array;
  outputHash?: string;
  /** The output decoded, when it is a canonical tensor list. */
  tensors?: NamedTensors;
  settlement?: Settlement;
}

export interface WaitOptions {
  /** Until the output is posted ("result", the default) or the job has ended ("settled"). */
  until?: "result" | "settled";
  /** Milliseconds; default 10 minutes. */
  timeout?: number;
  signal?: AbortSignal;
  /** Milliseconds between reads of the chain; default 1000. */
  pollInterval?: number;
}

/** Re-executing a result: how the posted output compares with ONNX Runtime's on the same model and input. */
export interface Verification {
  jobId: bigint;
  agrees: boolean;
  comparison: Comparison;
  posted: NamedTensors;
  reexecuted: NamedTensors;
}

export interface VerifyOptions {
  /** The model file's bytes (checked against the version's sha256). */
  model: Uint8Array;
  /** The input's bytes, for a job requested by URI. */
  input?: Uint8Array;
}

const STATUS_NAMES = Object.keys(JobStatus) as (keyof typeof JobStatus)[];
const OUTCOME_NAMES = Object.keys(JobOutcome) as (keyof typeof JobOutcome)[];
const ZERO_HASH = "0x" + "00".repeat(32);
/** How long `sendTx` waits for the signer's count of transactions to pass a mined one, and how often it asks. */
const NONCE_WAIT_MS = 5000;
const NONCE_POLL_MS = 50;

function argument(condition: boolean, message: string): asserts condition {
  if (!condition) throw new TrustMLError("BAD_ARGUMENT", message);
}

function toId(value: BigNumberish, what: string): bigint {
  try {
    const id = BigInt(value);
    argument(id >= 0n, `${what} must not be negative, got ${value}`);
    return id;
  } catch (e) {
    if (e instanceof TrustMLError) throw e;
    throw new TrustMLError("BAD_ARGUMENT", `${what} must be an integer (decimal or 0x hex), got ${String(value)}`);
  }
}

/** The client. Create it with `TrustMLClient.connect`. */
export class TrustMLClient {
  readonly registry: Contract;
  readonly escrow: Contract;
  readonly staking: Contract | null;
  readonly token: Contract;
  readonly fromBlock: number;
  /** The client's reader of logs (it remembers the block range its node accepts). */
  readonly logs: LogReader;
  private readonly errorSources: ErrorSource[];

  private constructor(
    readonly runner: Signer | Provider,
    contracts: { registry: Contract; escrow: Contract; staking: Contract | null; token: Contract },
    fromBlock: number,
    logs: LogReaderOptions = {},
  ) {
    this.logs = new LogReader(providerOf(runner), logs);
    this.registry = contracts.registry;
    this.escrow = contracts.escrow;
    this.staking = contracts.staking;
    this.token = contracts.token;
    this.fromBlock = fromBlock;
    this.errorSources = [
      this.escrow,
      this.registry,
      ...(this.staking ? [this.staking] : []),
      this.token,
      // The escrow's linked libraries revert with errors of their own, and an OpenZeppelin token with the ERC-6093
      // errors (ERC20InsufficientBalance, …), which IERC20's ABI does not declare: TestToken's ABI has them.
      ...[provenJudgeAbi, committeeDrawLibAbi, escrowParamsLibAbi, testTokenAbi].map(
        (abi) => new Contract(ZERO_ADDRESS, abi),
      ),
    ];
  }

  /**
   * Connects to a deployment: checks that the runner's chain is the record's and that the contracts exist.
   * Throws TrustMLError WRONG_CHAIN or BAD_ARGUMENT naming the problem.
   */
  static async connect(options: ConnectOptions): Promise<TrustMLClient> {
    argument(options?.runner != null, "connect needs a runner: a signer or a provider");
    const provider = providerOf(options.runner);
    let addresses: ProtocolAddresses;
    let fromBlock = options.fromBlock ?? 0;
    if (options.deployment !== undefined) {
      const deployment =
        typeof options.deployment === "string" ? readDeployment(options.deployment) : options.deployment;
      const network = await provider.getNetwork();
      if (BigInt(deployment.chainId) !== network.chainId) {
        throw new TrustMLError(
          "WRONG_CHAIN",
          `the deployment record is for chain ${deployment.chainId} (${deployment.network}), the provider is on chain ${network.chainId}`,
        );
      }
      const c = deployment.contracts;
      addresses = {
        registry: c.registry.address,
        escrow: c.escrow.address,
        staking: c.staking.address,
        token: c.token.address,
      };
      fromBlock = options.fromBlock ?? deployment.startBlock;
    } else {
      argument(options.addresses !== undefined, "connect needs a deployment record or the contracts' addresses");
      addresses = options.addresses;
    }
    for (const [name, address] of Object.entries(addresses)) {
      if (address === undefined) continue;
      argument(isAddress(address), `${name} address ${String(address)} is not an address`);
      if ((await provider.getCode(address)) === "0x") {
        throw new TrustMLError("WRONG_CHAIN", `no contract at the ${name} address ${address} on this chain`);
      }
    }
    const runner: ContractRunner = options.runner;
    const escrow = new Contract(addresses.escrow, jobEscrowAbi, runner);
    const token = new Contract(addresses.token ?? (await escrow.token()), erc20Abi, runner);
    return new TrustMLClient(
      options.runner,
      {
        registry: new Contract(addresses.registry, modelRegistryAbi, runner),
        escrow,
        staking: addresses.staking ? new Contract(addresses.staking, verifierStakingAbi, runner) : null,
        token,
      },
      fromBlock,
      options.logs,
    );
  }

  // ------------------------------------------------------------------ models

  /** Number of registered models; ids run from 1. */
  async modelCount(): Promise<bigint> {
    return this.registry.modelCount();
  }

  /** A model's owner, pending owner, deprecation, version count and terms. UNKNOWN_MODEL when there is none. */
  async model(modelId: BigNumberish): Promise<ModelInfo> {
    const id = toId(modelId, "model id");
    return modelInfo(id, await this.read(() => this.registry.getModel(id)));
  }

  /** Models `from` (default 1) to `from + count - 1`, at most 100 at a time. */
  async listModels(from: BigNumberish = 1, count = 100): Promise<ModelInfo[]> {
    argument(Number.isInteger(count) && count > 0 && count <= 100, `count must be 1..100, got ${count}`);
    const first = toId(from, "first model id");
    const models: StoredModel[] = await this.registry.getModels(first, count);
    return models.map((m, i) => modelInfo((first === 0n ? 1n : first) + BigInt(i), m));
  }

  /** One version, with its declared signature read from its VersionPublished event (checked against the hash). */
  async version(modelId: BigNumberish, version?: BigNumberish): Promise<VersionInfo> {
    const id = toId(modelId, "model id");
    const number = version === undefined ? (await this.model(id)).versionCount : toId(version, "version");
    const v = await this.read(() => this.registry.getVersion(id, number));
    let signature: IoSignature | null = null;
    if (v.ioSignatureHash !== NO_SIGNATURE_HASH) {
      const [published] = await this.events(this.registry, this.registry.filters.VersionPublished(id, number));
      if (published === undefined) {
        throw new TrustMLError(
          "WRONG_CHAIN",
          `model ${id} version ${number} declares a signature, but no VersionPublished event was found from block ${this.fromBlock}`,
        );
      }
      try {
        signature = declaredSignature(getBytes(published.args.ioSignature), v.ioSignatureHash);
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        throw new TrustMLError("WRONG_CHAIN", `model ${id} version ${number}: ${e.message}`, { cause: e });
      }
    }
    return {
      modelId: id,
      version: number,
      contentHash: v.contentHash,
      uri: v.uri,
      publishedAt: BigInt(v.publishedAt),
      weightsRoot: v.weightsRoot,
      inputSize: BigInt(v.inputSize),
      signatureHash: v.ioSignatureHash,
      signature,
    };
  }

  /** The model's current job terms, to agree to in a request. UNKNOWN_MODEL, MODEL_DEPRECATED. */
  async terms(modelId: BigNumberish): Promise<JobTerms> {
    const id = toId(modelId, "model id");
    return toJobTerms(await this.read(() => this.registry.jobTerms(id)));
  }

  /** Registers a model; returns its id. */
  async publish(options: PublishOptions): Promise<{ modelId: bigint; receipt: TransactionReceipt }> {
    checkPublish(options);
    const receipt = await this.send(() =>
      this.registry.registerModel(
        options.contentHash,
        options.uri,
        options.terms,
        options.weightsRoot ?? ZERO_HASH,
        options.signature ? encodeSignature(options.signature) : "0x",
      ),
    );
    const event = this.parsed(receipt, this.registry, "ModelRegistered");
    return { modelId: event.args.modelId as bigint, receipt };
  }

  /** Publishes a new version of a model the signer owns; returns its number. */
  async publishVersion(
    modelId: BigNumberish,
    options: Omit<PublishOptions, "terms">,
  ): Promise<{ version: bigint; receipt: TransactionReceipt }> {
    const id = toId(modelId, "model id");
    checkPublish({ ...options, terms: undefined });
    const receipt = await this.send(() =>
      this.registry.publishVersion(
        id,
        options.contentHash,
        options.uri,
        options.weightsRoot ?? ZERO_HASH,
        options.signature ? encodeSignature(options.signature) : "0x",
      ),
    );
    return { version: this.parsed(receipt, this.registry, "VersionPublished").args.version as bigint, receipt };
  }

  // ------------------------------------------------------------------ inputs and requests

  /**
   * The canonical bytes of `input`, checked against the signature of the version `terms` names: INPUT_MISMATCH
   * naming the tensor and the problem. A version without a signature takes any canonical tensor list.
   */
  async checkInput(terms: JobTerms, modelId: BigNumberish, input: RequestOptions["input"]): Promise<Uint8Array> {
    const bytes = inputBytes(input);
    let tensors: NamedTensors;
    try {
      tensors = decodeTensors(bytes);
    } catch (e) {
      throw new TrustMLError("INPUT_MISMATCH", `the input is not a canonical tensor list: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (terms.inputSize === 0n) return bytes;
    const { signature } = await this.version(modelId, terms.version);
    try {
      checkInputs(signature!, tensors);
    } catch (e) {
      if (e instanceof SignatureMismatchError || e instanceof SignatureError) {
        throw new TrustMLError("INPUT_MISMATCH", `model ${modelId} version ${terms.version}: ${e.message}`, {
          cause: e,
        });
      }
      throw e;
    }
    return bytes;
  }

  /**
   * Requests an inference: checks the terms are still current, the input against the version's signature and the
   * payment (deposit, or balance and allowance, approving when needed), all before the request is sent. Returns a
   * handle on the job.
   */
  async request(options: RequestOptions): Promise<JobHandle> {
    argument(options != null, "request needs options: { modelId, input, ... }");
    const signer = this.signer();
    const modelId = toId(options.modelId, "model id");
    const current = await this.terms(modelId);
    const terms = options.terms ?? current;
    if (jobTermsHash(terms) !== jobTermsHash(current)) {
      throw new TrustMLError("TERMS_CHANGED", `model ${modelId}: ${describeTermsChange(terms, current)}`);
    }
    const input = await this.checkInput(terms, modelId, options.input);
    const callbackGasLimit = options.callbackGasLimit ?? 0;
    argument(Number.isInteger(callbackGasLimit) && callbackGasLimit >= 0, "callbackGasLimit must be a whole number");
    const deadline = await this.deadlineOf(options.deadline ?? 3600);
    const account = await signer.getAddress();
    const fee = terms.terms.price;
    const escrow = this.escrow;
    const deposit = await spendableBalance(
      { balanceOf: (a: string) => escrow.balanceOf(a), treasury: () => escrow.treasury() },
      account,
    );
    const payment = options.payment ?? "auto";
    argument(
      ["auto", "deposit", "tokens"].includes(payment),
      `payment must be auto, deposit or tokens, got ${payment}`,
    );
    if (payment === "deposit" && deposit < fee) {
      throw new TrustMLError(
        "INSUFFICIENT_DEPOSIT",
        `the deposit of ${account} is ${deposit}, the fee is ${fee}: deposit ${fee - deposit} more first`,
      );
    }
    if (payment === "tokens" && deposit >= fee) {
      throw new TrustMLError(
        "BAD_ARGUMENT",
        `payment "tokens": the escrow takes the fee from a balance that covers it (${deposit} >= ${fee}); withdraw it or pay "auto"`,
      );
    }
    if (deposit < fee) await this.ensureAllowance(account, fee, options.approve ?? true);
    const tx = await this.sendTx(() => this.escrow.requestInference(modelId, terms, input, deadline, callbackGasLimit));
    const job = await jobFromTx(this.escrow, tx);
    return new JobHandle(this, job, tx.hash, (await tx.wait())!.blockNumber);
  }

  /** A handle on an existing job, from its JobRequested event. UNKNOWN_JOB when the escrow has none. */
  async job(jobId: BigNumberish): Promise<JobHandle> {
    const id = toId(jobId, "job id");
    const [requested] = await this.events(this.escrow, this.escrow.filters.JobRequested(id));
    if (requested === undefined) {
      throw new TrustMLError("UNKNOWN_JOB", `no job ${formatJobId(id)} was requested from block ${this.fromBlock}`);
    }
    return new JobHandle(this, toJob(requested.args.job), requested.transactionHash, requested.blockNumber);
  }

  // ------------------------------------------------------------------ money

  /** Pays `amount` tokens into the signer's balance in the escrow, approving first when needed. */
  async deposit(amount: BigNumberish, options: { approve?: boolean } = {}): Promise<TransactionReceipt> {
    const value = toId(amount, "amount");
    argument(value > 0n, "a deposit must be more than 0");
    const account = await this.signer().getAddress();
    await this.ensureAllowance(account, value, options.approve ?? true);
    return this.send(() => this.escrow.deposit(value));
  }

  /** What `account` (default: the signer) can withdraw, deposits included. */
  async balance(account?: string): Promise<bigint> {
    const who = account ?? (await this.signer().getAddress());
    argument(isAddress(who), `${who} is not an address`);
    return this.escrow.balanceOf(who);
  }

  /** Withdraws the signer's whole balance. */
  async withdraw(): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
    const receipt = await this.send(() => this.escrow.withdraw());
    return { amount: this.parsed(receipt, this.escrow, "Withdrawn").args.amount as bigint, receipt };
  }

  // ------------------------------------------------------------------ internals shared with JobHandle

  /** A deadline from seconds from now or a Date: counted from the wall clock, never earlier than the chain's. */
  async deadlineOf(deadline: number | Date): Promise<bigint> {
    return requestDeadline(providerOf(this.runner), deadline);
  }

  /**
   * The events matching `filter` from the client's first block to `toBlock` (default: the latest block itself, which
   * the reader asks for, since getBlockNumber may answer from a cache and miss an event mined a moment ago), through
   * the client's LogReader: bounded ranges (public RPC endpoints cap the range of one eth_getLogs), halved when the
   * node refuses one, transient errors retried.
   */
  async events(contract: Contract, filter: ContractEventName, toBlock?: number): Promise<EventLog[]> {
    const logs = await this.logs.events(contract, filter, this.fromBlock, toBlock);
    return logs.filter((e): e is EventLog => e instanceof EventLog);
  }

  signer(): Signer {
    const runner = this.runner as Partial<Signer>;
    if (typeof runner.getAddress !== "function" || typeof runner.sendTransaction !== "function") {
      throw new TrustMLError("NO_SIGNER", "this needs a transaction: connect the client with a signer");
    }
    return this.runner as Signer;
  }

  /** Runs a view, turning a revert into the matching TrustMLError. */
  async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw this.failure(e);
    }
  }

  /** Simulates, sends and waits for a transaction; a revert becomes TrustMLError REVERTED (or a specific code). */
  async send(call: () => Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
    const tx = await this.sendTx(call);
    const receipt = await tx.wait();
    return receipt!;
  }

  /**
   * As `send`, returning the mined transaction. NO_SIGNER on a client without a signer.
   * Returns once the signer counts the transaction's nonce as used, so that the next transaction takes the next
   * one: a provider may answer the count from a cache (ethers' JsonRpcProvider keeps an answer 250 ms), and a local
   * node mines faster than that, so a request sent right after its approval would otherwise reuse its nonce.
   */
  async sendTx(call: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionResponse> {
    const signer = this.signer();
    try {
      const tx = await call();
      await tx.wait();
      const until = Date.now() + NONCE_WAIT_MS;
      while ((await signer.getNonce("pending")) <= tx.nonce && Date.now() < until) await sleep(NONCE_POLL_MS);
      return tx;
    } catch (e) {
      throw this.failure(e);
    }
  }

  /** The TrustMLError for a failed call: the protocol's error decoded by name. */
  failure(e: unknown): TrustMLError {
    if (e instanceof TrustMLError) return e;
    const message = describeError(e, this.errorSources);
    const code: TrustMLErrorCode = message.startsWith("ModelRegistryUnknownModel")
      ? "UNKNOWN_MODEL"
      : message.startsWith("ModelRegistryDeprecated")
        ? "MODEL_DEPRECATED"
        : message.startsWith("JobEscrowTermsChanged")
          ? "TERMS_CHANGED"
          : message.startsWith("JobEscrowInputSizeMismatch")
            ? "INPUT_MISMATCH"
            : message.startsWith("JobEscrowUnknownJob")
              ? "UNKNOWN_JOB"
              : message.startsWith("JobEscrowNotSettleable")
                ? "NOT_SETTLEABLE"
                : message.startsWith("ERC20InsufficientBalance")
                  ? "INSUFFICIENT_FUNDS"
                  : "REVERTED";
    return new TrustMLError(code, message, { cause: e });
  }

  parsed(receipt: TransactionReceipt, contract: Contract, name: string) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== String(contract.target).toLowerCase()) continue;
      const parsed = contract.interface.parseLog(log);
      if (parsed?.name === name) return parsed;
    }
    throw new TrustMLError("REVERTED", `transaction ${receipt.hash} emitted no ${name}`);
  }

  private async ensureAllowance(account: string, amount: bigint, approve: boolean): Promise<void> {
    const held: bigint = await this.token.balanceOf(account);
    if (held < amount) {
      throw new TrustMLError("INSUFFICIENT_FUNDS", `${account} holds ${held} tokens and must pay ${amount}`);
    }
    const allowance: bigint = await this.token.allowance(account, this.escrow.target);
    if (allowance >= amount) return;
    if (!approve) {
      throw new TrustMLError(
        "INSUFFICIENT_FUNDS",
        `the escrow may take ${allowance} of ${account}'s tokens and must take ${amount}: approve it, or deposit first`,
      );
    }
    await this.send(() => this.token.approve(this.escrow.target, amount));
  }
}

/** A job: its fixed record, and ways to follow, settle and verify it. */
export class JobHandle {
  readonly id: bigint;
  /** The latest block a result was read at; never earlier than the request's (see `result`). */
  private readBlock: number;

  constructor(
    readonly client: TrustMLClient,
    readonly job: Job,
    /** The request's transaction. */
    readonly requestTx: string,
    /** The request's block, when known. */
    requestBlock = 0,
  ) {
    this.id = job.id;
    this.readBlock = requestBlock;
  }

  /** The id as 0x and 64 hex digits, as the tasks print it. */
  get hexId(): string {
    return formatJobId(this.id);
  }

  /** The escrow's state of the job (at `blockTag`, default the latest block); UNKNOWN_JOB when it has none. */
  private state(blockTag?: number): Promise<{ status: bigint; worker: string; windowEnd: bigint; revealEnd: bigint }> {
    return this.client.read(() => this.client.escrow.jobState(this.id, { blockTag }));
  }

  /**
   * The job's result as far as it has come: status, and once there, output, outcome and settlement. Everything is
   * read as of one block, so that a submission mined between two reads cannot show an output on a Requested job.
   * That block never goes back (a provider may answer the block number from a cache, ethers' JsonRpcProvider for
   * 250 ms), nor before the request's block, where the job did not exist yet.
   */
  async result(): Promise<JobResult> {
    const escrow = this.client.escrow;
    const block = Math.max(await providerOf(this.client.runner).getBlockNumber(), this.readBlock);
    this.readBlock = block;
    const state = await this.state(block);
    const status = Number(state.status);
    const result: JobResult = { jobId: this.id, status: STATUS_NAMES[status] };
    if (state.worker !== ZERO_ADDRESS) result.worker = state.worker;
    const submitted = await this.client.events(escrow, escrow.filters.ResultSubmitted(this.id), block);
    if (submitted.length > 0) {
      const args = submitted[submitted.length - 1].args;
      result.worker = args.worker;
      result.output = getBytes(args.output);
      result.outputHash = args.outputHash;
      try {
        result.tensors = decodeTensors(result.output);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }
    if (isTerminalStatus(status)) {
      const [settled] = await this.client.events(escrow, escrow.filters.JobSettled(this.id), block);
      if (settled !== undefined) {
        result.outcome = OUTCOME_NAMES[Number(settled.args.outcome)];
        result.settlement = toSettlement(settled.args.settlement);
      }
    }
    return result;
  }

  /**
   * Waits until the output is posted (or the job ended without one), or with `until: "settled"` until the job
   * ended. TIMEOUT after `timeout` ms, ABORTED when the signal aborts.
   */
  async wait(options: WaitOptions = {}): Promise<JobResult> {
    const timeout = options.timeout ?? 600_000;
    const interval = options.pollInterval ?? 1000;
    argument(timeout > 0 && interval > 0, "timeout and pollInterval must be positive");
    const until = options.until ?? "result";
    const started = Date.now();
    for (;;) {
      if (options.signal?.aborted) throw new TrustMLError("ABORTED", `stopped waiting for job ${this.hexId}`);
      const result = await this.result();
      const ended = isTerminalStatus(JobStatus[result.status]);
      if (ended || (until === "result" && result.output !== undefined)) return result;
      if (Date.now() - started >= timeout) {
        throw new TrustMLError(
          "TIMEOUT",
          `job ${this.hexId} is still ${result.status} after ${timeout} ms (waiting for ${until === "result" ? "its output" : "its settlement"})`,
        );
      }
      await sleep(Math.min(interval, timeout - (Date.now() - started)), options.signal);
    }
  }

  /**
   * Settles the job when it is due: refunds an expired or abandoned job, settles an unchallenged result after its
   * window. NOT_SETTLEABLE, with when it will be, otherwise.
   */
  async settle(): Promise<JobResult> {
    const escrow = this.client.escrow;
    this.client.signer();
    const state = await this.state();
    const status = Number(state.status);
    if (isTerminalStatus(status)) {
      throw new TrustMLError("NOT_SETTLEABLE", `job ${this.hexId} already ended (${STATUS_NAMES[status]})`);
    }
    const output = (await this.result()).output;
    const data = output !== undefined ? hexlify(output) : "0x";
    try {
      await escrow.settle.staticCall(this.job, data);
    } catch (e) {
      const revert = findRevertData(e);
      const error = revert === undefined ? null : escrow.interface.parseError(revert);
      if (error?.name !== "JobEscrowNotSettleable") throw this.client.failure(e);
      const readyAt = new Date(Number(error.args.readyAt) * 1000).toISOString();
      throw new TrustMLError(
        "NOT_SETTLEABLE",
        `job ${this.hexId} is ${STATUS_NAMES[Number(state.status)]} and not due until ${readyAt}`,
      );
    }
    await this.client.send(() => escrow.settle(this.job, data));
    return this.result();
  }

  /**
   * Re-executes the job with ONNX Runtime (the optional peer `onnxruntime-node`) on the model bytes given, which
   * must be the version's (MODEL_MISMATCH), and compares with the posted output under the job's tolerances.
   * For a Proven job, the trace's hidden vectors are left out of the comparison.
   */
  async verify(options: VerifyOptions): Promise<Verification> {
    argument(options?.model instanceof Uint8Array, "verify needs the model's bytes: { model: Uint8Array }");
    const escrow = this.client.escrow;
    const [requested] = await this.client.events(escrow, escrow.filters.JobRequested(this.id));
    if (requested === undefined) throw new TrustMLError("UNKNOWN_JOB", `no JobRequested for job ${this.hexId}`);
    const version = await this.client.version(this.job.modelId, this.job.version);
    const { createHash } = await import("node:crypto");
    const sha = "0x" + createHash("sha256").update(options.model).digest("hex");
    if (sha !== version.contentHash) {
      throw new TrustMLError(
        "MODEL_MISMATCH",
        `the model bytes hash to ${sha}, version ${version.version} is ${version.contentHash}`,
      );
    }
    let input = getBytes(requested.args.input);
    if (input.length === 0) {
      argument(
        options.input instanceof Uint8Array,
        `job ${this.hexId} was requested by URI (${requested.args.inputUri}): pass { input }`,
      );
      input = options.input;
    }
    if (keccak256(input) !== this.job.inputHash) {
      throw new TrustMLError("BAD_ARGUMENT", `the input does not hash to the job's input hash ${this.job.inputHash}`);
    }
    const result = await this.result();
    if (result.output === undefined) {
      throw new TrustMLError("NOT_SETTLEABLE", `job ${this.hexId} has no posted output to verify (${result.status})`);
    }
    const onnx = await import("./onnx");
    const model = await onnx.loadModel(options.model);
    const reexecuted = await onnx.runModel(model, decodeTensors(input));
    let decoded: NamedTensors;
    try {
      decoded = decodeTensors(result.output);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      // Bytes that are not a tensor list are a wrong result: a verifier votes against them.
      const comparison = { agree: false, reason: `the posted output is not a canonical tensor list: ${e.message}` };
      return { jobId: this.id, agrees: false, comparison, posted: [], reexecuted };
    }
    const names = new Set(model.outputs.map((o) => o.name));
    const posted =
      this.job.mode === BigInt(VerificationMode.Proven) ? decoded.filter((t) => names.has(t.name)) : decoded;
    const tolerance = {
      relTolerance: Number(requested.args.relTolerance),
      absTolerance: Number(requested.args.absTolerance),
    };
    const comparison = compareOutputs(posted, reexecuted, tolerance);
    return { jobId: this.id, agrees: comparison.agree, comparison, posted, reexecuted };
  }
}

const ZERO_ADDRESS = "0x" + "00".repeat(20);

/** `IModelRegistry.Model` as the registry returns it. */
interface StoredModel {
  owner: string;
  versionCount: bigint;
  deprecated: boolean;
  pendingOwner: string;
  terms: Parameters<typeof toModelTerms>[0];
}

function modelInfo(id: bigint, m: StoredModel): ModelInfo {
  return {
    id,
    owner: m.owner,
    pendingOwner: m.pendingOwner === ZERO_ADDRESS ? null : m.pendingOwner,
    deprecated: m.deprecated,
    versionCount: BigInt(m.versionCount),
    terms: toModelTerms(m.terms),
  };
}

function providerOf(runner: Signer | Provider): Provider {
  const provider = (runner as Signer).provider ?? (runner as Provider);
  if (typeof (provider as Provider)?.getNetwork !== "function") {
    throw new TrustMLError("BAD_ARGUMENT", "the runner has no provider: connect the signer to one");
  }
  return provider as Provider;
}

/**
 * What a request from `account` can take its fee from, in its balance in the escrow: `balanceOf`, except for the
 * treasury, whose `balanceOf` also counts the protocol fees accrued to it, which a request does not spend (and which
 * no view tells apart from its deposits): 0n for it, so that its requests are paid in tokens, approved as needed,
 * rather than counting on fees the escrow will not take.
 */
export async function spendableBalance(
  escrow: { balanceOf(account: string): Promise<bigint>; treasury(): Promise<string> },
  account: string,
): Promise<bigint> {
  const [balance, treasury] = await Promise.all([escrow.balanceOf(account), escrow.treasury()]);
  return getAddress(treasury) === getAddress(account) ? 0n : balance;
}

/**
 * A request's deadline, `deadline` seconds from now or at a Date: counted from the wall clock, never earlier than the
 * chain's (the latest block's timestamp), so that an idle node whose last block is old does not shorten it, and a
 * chain whose clock runs ahead does not leave the job less time than asked. BAD_ARGUMENT for a deadline that is not
 * whole positive seconds, or a Date not in the future.
 */
export async function requestDeadline(provider: Provider, deadline: number | Date): Promise<bigint> {
  const chainNow = BigInt((await provider.getBlock("latest"))!.timestamp);
  const wallNow = BigInt(Math.floor(Date.now() / 1000));
  const now = wallNow > chainNow ? wallNow : chainNow;
  if (deadline instanceof Date) {
    const at = BigInt(Math.floor(deadline.getTime() / 1000));
    argument(at > now, `the deadline ${deadline.toISOString()} is not in the future`);
    return at;
  }
  argument(Number.isInteger(deadline) && deadline > 0, `the deadline must be whole seconds from now, got ${deadline}`);
  return now + BigInt(deadline);
}

function readDeployment(file: string): Deployment {
  try {
    return loadDeployment(file);
  } catch (e) {
    throw new TrustMLError("BAD_ARGUMENT", (e as Error).message, { cause: e });
  }
}

function inputBytes(input: RequestOptions["input"]): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (typeof input === "string") {
    argument(isHexString(input), "an input given as a string must be 0x hex of its canonical bytes");
    return getBytes(input);
  }
  argument(Array.isArray(input), "the input must be tensors, or their canonical bytes");
  try {
    return encodeTensors(input);
  } catch (e) {
    throw new TrustMLError("INPUT_MISMATCH", `the input tensors cannot be encoded: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function checkPublish(options: Partial<PublishOptions>): void {
  argument(options != null, "publish needs options: { contentHash, uri, terms }");
  argument(isHexString(options.contentHash, 32), "contentHash must be the sha256 of the file, 0x and 64 hex digits");
  argument(typeof options.uri === "string" && options.uri.length > 0, "uri must be a non-empty string");
  if (options.weightsRoot !== undefined)
    argument(isHexString(options.weightsRoot, 32), "weightsRoot must be 32 bytes of hex");
  if (options.signature) {
    try {
      encodeSignature(options.signature);
    } catch (e) {
      throw new TrustMLError("BAD_ARGUMENT", `the signature is invalid: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Which fields of the terms differ, for TERMS_CHANGED. */
function describeTermsChange(agreed: JobTerms, current: JobTerms): string {
  const changes: string[] = [];
  const compare = (name: string, a: unknown, b: unknown) => {
    if (String(a) !== String(b)) changes.push(`${name} ${String(a)} → ${String(b)}`);
  };
  compare("owner", getAddress(agreed.owner), getAddress(current.owner));
  compare("version", agreed.version, current.version);
  compare("contentHash", agreed.contentHash, current.contentHash);
  compare("inputSize", agreed.inputSize, current.inputSize);
  for (const key of Object.keys(current.terms) as (keyof ModelTerms)[]) {
    compare(key, agreed.terms[key], current.terms[key]);
  }
  return `the terms changed since they were read: ${changes.join(", ") || "(same fields, another encoding)"}`;
}

/** Resolves after `ms`, or as soon as `signal` aborts (at once when it already has). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // A signal that aborted already fires no more events: listening to it, the sleep would run its full length.
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
