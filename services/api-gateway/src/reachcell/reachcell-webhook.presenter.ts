import { reachCellTime } from '@reach/read-models';
import type { Webhook } from '@reach/webhooks';

/** A webhook as `GET /v1/webhooks` lists it: never the secret, only its first characters. */
export interface ReachCellWebhook {
  id: string;
  url: string;
  label: string;
  events: string[];
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  secret_prefix: string;
  created_at: string;
  disabled_at: string | null;
}

/** The `POST /v1/webhooks` answer: the one and only time the secret is shown. */
export interface ReachCellCreatedWebhook {
  id: string;
  url: string;
  label: string;
  events: string[];
  status: 'active' | 'disabled';
  secret: string;
  created_at: string;
}

export function presentReachCellWebhook(webhook: Webhook): ReachCellWebhook {
  return {
    id: webhook.id,
    url: webhook.url,
    label: webhook.label,
    events: [...webhook.events],
    status: webhook.status,
    disabled_reason: webhook.disabledReason,
    secret_prefix: webhook.secretPrefix,
    created_at: reachCellTime(webhook.createdAt),
    disabled_at: webhook.disabledAt ? reachCellTime(webhook.disabledAt) : null,
  };
}

export function presentCreatedWebhook(webhook: Webhook, secret: string): ReachCellCreatedWebhook {
  return {
    id: webhook.id,
    url: webhook.url,
    label: webhook.label,
    events: [...webhook.events],
    status: webhook.status,
    secret,
    created_at: reachCellTime(webhook.createdAt),
  };
}
