import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp the database fills in when the insert leaves it out. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** numeric columns come back from pg as strings to keep their precision. */
type Numeric = ColumnType<string, number | string, number | string>;
type BigIntColumn = ColumnType<string, bigint | number | string, bigint | number | string>;

export interface EventsTable {
  global_position: ColumnType<string, never, never>;
  transaction_id: Generated<string>;
  stream_id: string;
  revision: BigIntColumn;
  event_id: string;
  type: string;
  data: unknown;
  metadata: unknown;
  created_at: DefaultedTimestamp;
}

export interface CheckpointsTable {
  name: string;
  position: string;
  updated_at: DefaultedTimestamp;
}

export interface AccountsTable {
  id: string;
  name: string;
  api_user: string;
  status: Generated<'active' | 'suspended'>;
  monthly_allowance_segments: number;
  overage_price_per_segment_usd: Numeric;
  created_at: DefaultedTimestamp;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  key_hash: Buffer;
  key_prefix: string;
  created_at: DefaultedTimestamp;
  revoked_at: Timestamp | null;
}

export interface NumbersTable {
  e164: string;
  account_id: string;
  channel: Generated<'simulated' | 'device' | 'smpp'>;
  created_at: DefaultedTimestamp;
  /** The device whose SIM holds the number (`reachctl device bind`). */
  device_id: ColumnType<string | null, string | null | undefined, string | null>;
  sim_slot: ColumnType<number | null, number | null | undefined, number | null>;
  /** The SMPP connector the number's messages go out on. */
  connector_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface DevicesTable {
  id: string;
  account_id: string;
  name: Generated<string>;
  /** SHA-256 of the device token; the token itself is shown once and never stored. */
  token_hash: Buffer;
  sends_per_minute: Generated<number>;
  created_at: DefaultedTimestamp;
  revoked_at: Timestamp | null;
}

export interface SmppConnectorsTable {
  id: string;
  /** Null: platform-wide, routable from any account's senders. */
  account_id: string | null;
  name: string;
  host: string;
  port: number;
  system_id: string;
  /** AES-256-GCM sealed bind password (see `@reach/accounts` connector sealing). */
  password_sealed: Buffer;
  system_type: Generated<string>;
  bind_mode: Generated<'transceiver'>;
  source_ton: Generated<number>;
  source_npi: Generated<number>;
  dest_ton: Generated<number>;
  dest_npi: Generated<number>;
  throughput_per_second: Generated<number>;
  window_size: Generated<number>;
  created_at: DefaultedTimestamp;
  disabled_at: Timestamp | null;
}

export interface SmppSubmissionsTable {
  connector_id: string;
  carrier_message_id: string;
  message_id: string;
  part_index: number;
  part_count: number;
  outcome: 'delivered' | 'undelivered' | null;
  stat: string | null;
  err: string | null;
  dlr_date: string | null;
  submitted_at: DefaultedTimestamp;
  receipted_at: Timestamp | null;
}

export interface MessagesTable {
  message_id: string;
  account_id: string;
  direction: 'outbound' | 'inbound';
  from_number: string;
  to_number: string;
  body: string | null;
  segment_count: number;
  encoding: string;
  status: string;
  channel: string;
  dialect: string | null;
  bulk_id: string | null;
  status_callback: string | null;
  max_price: Numeric | null;
  validity_period_seconds: number | null;
  expires_at: Timestamp | null;
  scheduled_for: Timestamp | null;
  error_code: number | null;
  failure_reason: string | null;
  provider_message_id: string | null;
  cost_usd: Numeric | null;
  price: Numeric | null;
  price_unit: string | null;
  billing_allowance_segments: number | null;
  billing_overage_price_usd: Numeric | null;
  body_redacted: Generated<boolean>;
  created_at: Timestamp;
  queued_at: Timestamp | null;
  dispatched_at: Timestamp | null;
  sent_at: Timestamp | null;
  delivered_at: Timestamp | null;
  updated_at: Timestamp;
  stream_revision: BigIntColumn;
  projected_at: DefaultedTimestamp;
}

export interface UsageMonthlyTable {
  account_id: string;
  month: string;
  segments: BigIntColumn;
}

export interface DispatchQueueTable {
  seq: ColumnType<string, never, never>;
  message_id: string;
  account_id: string;
  from_number: string;
  to_number: string;
  body: string;
  segment_count: number;
  queued_at: Timestamp;
  expires_at: Timestamp;
  /** W3C traceparent of the span the message was queued in; its backlog send continues that trace. */
  trace_parent: ColumnType<string | null, string | null | undefined, string | null>;
  /** Correlation id of the request the message came from, for the backlog send's events and log lines. */
  correlation_id: ColumnType<string | null, string | null | undefined, string | null>;
  channel: ColumnType<'simulated' | 'device' | 'smpp', 'simulated' | 'device' | 'smpp' | undefined, 'simulated' | 'device' | 'smpp'>;
}

export interface SendersTable {
  account_id: string;
  sender: string;
  created_at: DefaultedTimestamp;
  /** The SMPP connector the sender id's messages go out on (null: the default channel). */
  connector_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AccountBalancesTable {
  account_id: string;
  currency: string;
  balance: Numeric;
  updated_at: DefaultedTimestamp;
}

export interface BalanceReservationsTable {
  message_id: string;
  account_id: string;
  amount: Numeric;
  created_at: DefaultedTimestamp;
  refunded_at: Timestamp | null;
}

/** The scheduler's durable timers: a release at `scheduledFor`, an expiry at `expiresAt`. */
export interface SchedulerTimersTable {
  message_id: string;
  kind: 'release' | 'expire';
  due_at: Timestamp;
  account_id: string;
  /** Failed firings so far; the next one waits longer. */
  attempts: Generated<number>;
  /** W3C traceparent of the span the timer was recorded in; its firing continues that trace. */
  trace_parent: ColumnType<string | null, string | null | undefined, string | null>;
  /** Correlation id of the request the message came from, for the firing's events and log lines. */
  correlation_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** The gateway's Idempotency-Key records (an answer is kept for 24 hours). */
export interface IdempotencyKeysTable {
  account_id: string;
  key: string;
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  created_at: DefaultedTimestamp;
  completed_at: Timestamp | null;
}

export interface WebhooksTable {
  id: string;
  account_id: string;
  url: string;
  label: string;
  events: string[];
  signing_key: Buffer;
  secret_prefix: string;
  status: Generated<'active' | 'disabled'>;
  disabled_reason: string | null;
  created_at: DefaultedTimestamp;
  disabled_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export type DeliveryKind = 'status_callback' | 'webhook';
export type DeliveryState = 'pending' | 'in_flight' | 'succeeded' | 'failed' | 'canceled';
export type AttemptOutcome = 'succeeded' | 'retry' | 'failed' | 'endpoint_gone';

export interface DeliveriesTable {
  id: string;
  account_id: string;
  kind: DeliveryKind;
  webhook_id: string | null;
  message_id: string | null;
  event_id: string;
  event_type: string;
  url: string;
  endpoint_key: string;
  ordering_key: string;
  sequence: ColumnType<string, bigint | number | string | undefined, bigint | number | string>;
  content_type: string;
  payload: string;
  state: DeliveryState;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  lease_expires_at: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: DefaultedTimestamp;
  completed_at: Timestamp | null;
  /** W3C traceparent of the span that planned the delivery; its attempts are its children. */
  trace_parent: string | null;
  /** Correlation id of the request the message came from, for the attempts' log lines. */
  correlation_id: string | null;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  latency_ms: number | null;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  response_excerpt: string | null;
}

export interface Database {
  events: EventsTable;
  checkpoints: CheckpointsTable;
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  numbers: NumbersTable;
  messages: MessagesTable;
  usage_monthly: UsageMonthlyTable;
  dispatch_queue: DispatchQueueTable;
  scheduler_timers: SchedulerTimersTable;
  senders: SendersTable;
  account_balances: AccountBalancesTable;
  balance_reservations: BalanceReservationsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhooks: WebhooksTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  devices: DevicesTable;
  smpp_connectors: SmppConnectorsTable;
  smpp_submissions: SmppSubmissionsTable;
}

export type MessageRow = Selectable<MessagesTable>;
export type NewMessageRow = Insertable<MessagesTable>;
export type AccountRow = Selectable<AccountsTable>;
export type NumberRow = Selectable<NumbersTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type SmppConnectorRow = Selectable<SmppConnectorsTable>;
export type SmppSubmissionRow = Selectable<SmppSubmissionsTable>;
export type DispatchQueueRow = Selectable<DispatchQueueTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type NewDeliveryRow = Insertable<DeliveriesTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptsTable>;
