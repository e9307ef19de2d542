import type { ChannelKind } from '@reach/contracts';

/**
 * A report the channel's peer made that can never be recorded (an unknown message, a step the
 * message's state refuses, an SMS to a number nobody holds). The channel tells its peer to drop
 * it rather than repeat it.
 */
export class ChannelReportRefusedError extends Error {
  readonly code = 'CHANNEL_REPORT_REFUSED';
}

/** A released message handed to a channel: everything it needs to send it. */
export interface ChannelSend {
  readonly messageId: string;
  readonly accountId: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly segmentCount: number;
  /** End of the validity period: a channel that could not send by then fails the message (30001). */
  readonly expiresAt: Date;
  /**
   * Dispatched before this hand-over (by a process that died or gave up the channels): the far
   * end may hold it already, which this process cannot know.
   */
  readonly resumed?: boolean;
}

/** An SMS that reached one of our numbers through a channel. */
export interface ChannelInboundSms {
  /**
   * Unique per SMS within the channel (a device's inbound id, an SMSC's reassembled MO key). A
   * repeated report of the same SMS carries the same key and is recorded once.
   */
  readonly key: string;
  readonly from: string;
  /** Our number (E.164) the SMS was sent to. */
  readonly to: string;
  readonly body: string;
}

/**
 * Who made a report, when the peer names the message itself (a phone reports on any message id it
 * likes): a report on a message of another account, or of another channel, is refused
 * (`ChannelReportRefusedError`), so no peer can change another tenant's messages. Channels that
 * find the message themselves (SMPP receipts, matched by carrier id) pass none.
 */
export interface ReportSource {
  readonly accountId: string;
  readonly channel: ChannelKind;
}

/**
 * How a channel turns what its peer tells it into events. Every promise resolves once the fact is
 * durably appended (or was already), so a channel acknowledges to its peer (a device's report ack,
 * an SMSC's deliver_sm_resp) only after that. All are idempotent: reporting a fact twice records
 * it once. They reject only when the fact could not be recorded (the peer should repeat it later).
 */
export interface ChannelReports {
  sent(messageId: string, providerMessageId: string | null, source?: ReportSource): Promise<void>;
  /** `dlrDate`: the receipt's done date, `YYMMDDhhmm` (UTC), when the channel has one. */
  delivered(messageId: string, dlrDate: string | null, source?: ReportSource): Promise<void>;
  undelivered(messageId: string, errorCode: number, reason: string, dlrDate: string | null, source?: ReportSource): Promise<void>;
  failed(messageId: string, errorCode: number, reason: string, source?: ReportSource): Promise<void>;
  received(sms: ChannelInboundSms, channel: ChannelKind): Promise<void>;
}

/** What the dispatcher gives a channel when it starts it. */
export interface ChannelHooks {
  readonly reports: ChannelReports;
  /**
   * The channel can take messages from `sender` again (a device connected, pacing freed a slot, a
   * bind came up): the dispatcher sends the sender's backlog. Without a sender: every sender of
   * this channel.
   */
  readonly wake: (sender?: string) => void;
}

/**
 * A way out for messages. The dispatcher owns the order and the durable backlog: it asks
 * `isReady` before handing a message over, appends `MessageDispatched`, then calls `send`. A
 * channel that is not ready keeps nothing: the message waits, durably, in the dispatcher's queue
 * until the channel calls `wake`.
 *
 * After a restart the dispatcher hands over again every message that is `dispatched` but not
 * finished (`send` again: a channel must treat a repeated message id as the same message). A
 * channel that makes its receipts itself implements `awaitReceipt`, and is asked for the receipt
 * of every message already `sent`; one whose far end repeats receipts to whoever is connected
 * (phones, SMSCs) leaves it out, and its `sent` messages are neither resumed nor held in memory.
 */
export interface OutboundChannel {
  readonly kind: ChannelKind;
  start(hooks: ChannelHooks): Promise<void>;
  /** True when a message from `sender` handed over now goes out at once. */
  isReady(sender: string): boolean;
  send(message: ChannelSend): void;
  /** The message was sent before a restart: only its receipt, which this channel makes, is still owed. */
  awaitReceipt?(messageId: string): void;
  /** Stops taking messages and lets go of its connections; what was in flight is resumed by the next owner. */
  stop(): Promise<void>;
}
