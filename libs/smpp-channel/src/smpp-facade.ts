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
  readonly receipted_message_id?: string;
  readonly message_state?: number;
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
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
} as const;

/** esm_class bits (SMPP 3.4 §5.2.12). */
export const EsmClass = {
  /** Message type bits 2–5; 0x04 is an SMSC delivery receipt. */
  MESSAGE_TYPE_MASK: 0x3c,
  DELIVERY_RECEIPT: 0x04,
  UDH_INDICATOR: 0x40,
} as const;
