import type { Dialect } from './message-events';

/** One internal lifecycle (PRODUCT.md §3); each dialect shows it in its own words. */
export const messageStatuses = [
  'accepted',
  'scheduled',
  'queued',
  'dispatched',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'canceled',
  'expired',
  'received',
] as const;
export type MessageStatus = (typeof messageStatuses)[number];

export const terminalStatuses: readonly MessageStatus[] = ['delivered', 'undelivered', 'failed', 'canceled', 'expired', 'received'];

export function isTerminalStatus(status: MessageStatus): boolean {
  return terminalStatuses.includes(status);
}

export const reachCellStatuses = ['queued', 'dispatched', 'sent', 'delivered', 'failed', 'received'] as const;
export type ReachCellStatus = (typeof reachCellStatuses)[number];

export const reachStatuses = [
  'accepted',
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'canceled',
  'receiving',
  'received',
] as const;
export type ReachStatus = (typeof reachStatuses)[number];

const toReachCell: Record<MessageStatus, ReachCellStatus> = {
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  dispatched: 'dispatched',
  sent: 'sent',
  delivered: 'delivered',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
  expired: 'failed',
  received: 'received',
};

const toReach: Record<MessageStatus, ReachStatus> = {
  accepted: 'accepted',
  scheduled: 'scheduled',
  queued: 'queued',
  dispatched: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'canceled',
  expired: 'failed',
  received: 'received',
};

export function reachCellStatusOf(status: MessageStatus): ReachCellStatus {
  return toReachCell[status];
}

export function reachStatusOf(status: MessageStatus): ReachStatus {
  return toReach[status];
}

/** The internal statuses a dialect's status word stands for (used by list filters). */
export function internalStatusesFor(dialect: 'reachcell', word: ReachCellStatus): MessageStatus[];
export function internalStatusesFor(dialect: 'reach', word: ReachStatus): MessageStatus[];
export function internalStatusesFor(dialect: Dialect, word: string): MessageStatus[] {
  const table: Record<MessageStatus, string> = dialect === 'reachcell' ? toReachCell : toReach;
  return messageStatuses.filter((s) => table[s] === word);
}
