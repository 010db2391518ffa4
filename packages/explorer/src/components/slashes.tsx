/** Slashes as a table: the account (unless the page is the account's own), amount, recipient and transaction. */
import type { SlashView } from "../sdk";
import { AddressLink, Amount, At } from "./common";

export function SlashesTable({ slashes, showAccount }: { slashes: SlashView[]; showAccount: boolean }) {
  return (
    <table className="list" data-testid="slashes">
      <thead>
        <tr>
          {showAccount && <th>account</th>}
          <th className="num">amount</th>
          <th>to</th>
          <th>transaction</th>
        </tr>
      </thead>
      <tbody>
        {slashes.map((s) => (
          <tr key={`${s.transactionHash}:${s.logIndex}`} data-testid="slash-row" data-account={s.account}>
            {showAccount && (
              <td>
                <AddressLink address={s.account} />
              </td>
            )}
            <td className="num">
              <Amount value={s.amount} testId="slash-amount" />
            </td>
            <td>
              <AddressLink address={s.recipient} />
            </td>
            <td>
              <At at={s} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
