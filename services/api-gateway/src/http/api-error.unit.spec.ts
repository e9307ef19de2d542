import { MAX_WEBHOOKS_PER_ACCOUNT, WebhooksError } from '@reach/webhooks';
import type { FastifyRequest } from 'fastify';
import { toApiError } from '../reachcell/reachcell-error.filter';
import { webhooksApiError } from './api-error';

describe('webhooks errors on the wire', () => {
  it.each([
    ['WEBHOOK_NOT_FOUND', 404, 'not_found', 'Webhook not found'],
    ['DELIVERY_NOT_FOUND', 404, 'not_found', 'Delivery not found'],
    ['DELIVERY_IN_FLIGHT', 409, 'delivery_in_flight', expect.stringContaining('being attempted right now')],
    ['TOO_MANY_WEBHOOKS', 422, 'webhook_limit_reached', expect.stringContaining(`maximum of ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`)],
  ] as const)('maps %s to %i %s', (code, status, wireCode, message) => {
    expect(webhooksApiError(new WebhooksError(code, `internal detail naming an id`))).toMatchObject({ status, code: wireCode, message });
  });

  it('is applied by the error filters to a WebhooksError thrown by a use case', () => {
    const request = { method: 'DELETE', url: '/v1/webhooks/x' } as FastifyRequest;
    const error = toApiError(new WebhooksError('WEBHOOK_NOT_FOUND', 'no webhook 123'), request);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'Webhook not found' });
    expect(error.message).not.toContain('123');
  });
});
