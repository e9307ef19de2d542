import type { EventEmitter } from 'node:events';
import type { Server as NetServer } from 'node:net';

/**
 * The typed facade over `smpp@0.5.1`, which ships no TypeScript types. Only what this lib uses is
 * declared; every PDU field read from the wire is optional and checked where it is used.
 * Nothing outside this lib sees these types (the public API speaks in its own terms).
 */

/** A PDU as the package decodes it: header fields plus whatever mandatory params and TLVs it read. */
export interface SmppPdu {
  readonly command: string;
  readonly command_status: number;
  readonly sequence_number: number;
  readonly system_id?: string;
  readonly password?: string;
  readonly message_id?: string;
  readonly source_addr?: string;
  readonly destination_addr?: string;
  readonly esm_class?: number;
  readonly data_coding?: number | null;
  readonly registered_delivery?: number;
  /** Decoded by the package per data_coding: the text and, with the UDHI bit, the UDH information elements. */
  readonly short_message?: SmppShortMessage | Buffer;
  readonly message_payload?: SmppShortMessage | Buffer;
  readonly source_addr_ton?: number;
  readonly dest_addr_ton?: number;
  readonly receipted_message_id?: string;
  readonly message_state?: number;
  /** TLV 0x0204: on an MO, SMSCs that forward the handset's TP-MR put it here (stable across re-sends). */
  readonly user_message_reference?: number;
  /** Decoded by the package: absolute or relative (`…R`) time as a Date. */
  readonly validity_period?: Date | string | null;
  response(options?: Readonly<Record<string, unknown>>): SmppPdu;
}

export interface SmppShortMessage {
  readonly message: string | Buffer;
  readonly udh?: readonly Buffer[];
}

export type SmppResponseCallback = (pdu: SmppPdu) => void;

/** A session: one TCP connection carrying PDUs in both directions (client or server side). */
export interface SmppSession extends EventEmitter {
  readonly socket: { readonly writable: boolean; destroy(): void };
  send(pdu: SmppPdu, responseCallback?: SmppResponseCallback): boolean;
  bind_transceiver(options: Readonly<Record<string, unknown>>, callback: SmppResponseCallback): boolean;
  submit_sm(options: Readonly<Record<string, unknown>>, callback: SmppResponseCallback): boolean;
  deliver_sm(options: Readonly<Record<string, unknown>>, callback?: SmppResponseCallback): boolean;
  enquire_link(options: Readonly<Record<string, unknown>>, callback: SmppResponseCallback): boolean;
  unbind(options: Readonly<Record<string, unknown>>, callback: SmppResponseCallback): boolean;
  pause(): void;
  resume(): void;
  close(callback?: () => void): void;
  destroy(callback?: () => void): void;
}

export interface SmppServer extends NetServer {
  readonly sessions: readonly SmppSession[];
}

interface SmppModule {
  connect(options: { readonly host: string; readonly port: number }): SmppSession;
  createServer(listener: (session: SmppSession) => void): SmppServer;
  readonly encodings: { readonly ASCII: { encode(text: string): Buffer; decode(bytes: Buffer): string } };
  /** command_status names (ESME_ROK, ESME_RTHROTTLED, …) to values, SMPP 3.4 §5.1.3. */
  readonly errors: Readonly<Record<string, number>>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- smpp@0.5.1 has no types; this module is its typed facade
const smpp = require('smpp') as SmppModule;

export const connectSmpp = (host: string, port: number): SmppSession => smpp.connect({ host, port });
export const createSmppServer = (listener: (session: SmppSession) => void): SmppServer => smpp.createServer(listener);
/** GSM 03.38 default alphabet, one unpacked septet per octet (what data_coding 0 carries in SMPP). */
export const gsm7Encode = (text: string): Buffer => smpp.encodings.ASCII.encode(text);

/** command_status values used here (SMPP 3.4 §5.1.3). */
export const SmppStatus = {
  OK: 0x00,
  ESME_RINVBNDSTS: 0x04,
  ESME_RSYSERR: 0x08,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
  /** deliver_sm_resp: temporary application error, the SMSC re-sends the deliver_sm later. */
  ESME_RX_T_APPN: 0x64,
  /** deliver_sm_resp: permanent application error, the SMSC does not re-send. */
  ESME_RX_P_APPN: 0x65,
} as const;

const statusNames = new Map<number, string>(Object.entries(smpp.errors).map(([name, value]) => [value, name]));

/** `ESME_RTHROTTLED (0x00000058)`: the SMPP 3.4 name of a command_status, for logs and failure reasons. */
export function describeCommandStatus(status: number): string {
  const hex = `0x${status.toString(16).padStart(8, '0')}`;
  const name = statusNames.get(status);
  return name ? `${name} (${hex})` : `command_status ${hex}`;
}

/** esm_class bits (SMPP 3.4 §5.2.12). */
export const EsmClass = {
  /** Message type bits 2–5; 0x04 is an SMSC delivery receipt. */
  MESSAGE_TYPE_MASK: 0x3c,
  DELIVERY_RECEIPT: 0x04,
  UDH_INDICATOR: 0x40,
} as const;
