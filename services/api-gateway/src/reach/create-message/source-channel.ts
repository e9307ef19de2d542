import type { AccountDirectory } from '@reach/accounts';
import type { ChannelKind } from '@reach/contracts';
import type { ReachCreate } from '@reach/message-domain';

/**
 * Alphanumeric sender ids are not held by a phone of the account: one routed to an SMPP connector
 * (`reachctl connector route --sender`) goes out there, any other on the default channel.
 */
const SENDER_ID_CHANNEL: ChannelKind = 'simulated';

/**
 * The channel a message from `src` goes out on, or null when `src` is neither a number provisioned
 * to the account nor a sender id registered to it. Numbers carry their channel; read through the
 * gateway's directory, so a route changed in the last 30 s (its positive TTL) may not show yet.
 */
export async function sourceChannel(
  directory: Pick<AccountDirectory, 'findNumber' | 'findSender'>,
  accountId: string,
  request: Pick<ReachCreate, 'src' | 'srcKind'>,
): Promise<ChannelKind | null> {
  if (request.srcKind === 'number') {
    const number = await directory.findNumber(request.src);
    return number && number.accountId === accountId ? number.channel : null;
  }
  const sender = await directory.findSender(accountId, request.src);
  if (!sender) return null;
  return sender.connectorId === null ? SENDER_ID_CHANNEL : 'smpp';
}
