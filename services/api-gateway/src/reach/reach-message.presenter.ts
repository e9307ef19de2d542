import { reachStatusOf, type ReachStatus } from '@reach/contracts';
import type { MessageView } from '@reach/read-models';

/** What every Reach messaging call answers with (PRODUCT.md §2, seed 001). */
export interface ReachMessageItem {
  appletId: string;
  apiVersion: string;
  body: string;
  dest: string;
  src: string;
  bulkId: string | null;
  numSegments: number;
  numMedia: number;
  price: number | null;
  priceUnit: string | null;
  messageId: string;
  status: ReachStatus;
  messageType: 'outbound' | 'inbound';
  errorCode: number | null;
  errorMessage: string | null;
  dateCreated: string;
  dateSent: string | null;
  dateUpdated: string;
}

export const REACH_API_VERSION = '1.0.0';

/**
 * - `appletId` is our account id (the applet is the account).
 * - `body` is `""` once redacted (`update`): the item keeps a string as the seed shows it.
 * - `dateSent` is when the carrier took an outbound message, when it arrived for an inbound one.
 * - Times are ISO-8601 UTC with milliseconds, as in the seed (`2016-08-29T09:12:33.001Z`).
 * - `errorCode`/`errorMessage` are set for failed, expired (shown as failed) and undelivered.
 */
export function presentReachMessage(v: MessageView): ReachMessageItem {
  return {
    appletId: v.accountId,
    apiVersion: REACH_API_VERSION,
    body: v.body ?? '',
    dest: v.to,
    src: v.from,
    bulkId: v.bulkId,
    numSegments: v.segmentCount,
    numMedia: 0,
    price: v.price?.amount ?? null,
    priceUnit: v.price?.unit ?? null,
    messageId: v.messageId,
    status: reachStatusOf(v.status),
    messageType: v.direction,
    errorCode: v.errorCode,
    errorMessage: v.errorCode === null ? null : v.failureReason,
    dateCreated: v.createdAt.toISOString(),
    dateSent: (v.sentAt ?? (v.direction === 'inbound' ? v.createdAt : null))?.toISOString() ?? null,
    dateUpdated: v.updatedAt.toISOString(),
  };
}
