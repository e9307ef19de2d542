import { validateDeliveryListQuery } from './list-deliveries.query';

describe('the delivery list query', () => {
  it('defaults to the first page of 20, every state', () => {
    expect(validateDeliveryListQuery({})).toEqual({ ok: true, value: { page: 1, perPage: 20 } });
  });

  it('reads page, per_page and state, ignoring unknown parameters and empty values', () => {
    expect(validateDeliveryListQuery({ page: '3', per_page: '100', state: 'in_flight', status: 'x' })).toEqual({
      ok: true,
      value: { page: 3, perPage: 100, state: 'in_flight' },
    });
    expect(validateDeliveryListQuery({ page: '', state: '' })).toEqual({ ok: true, value: { page: 1, perPage: 20 } });
  });

  it.each(['pending', 'in_flight', 'succeeded', 'failed', 'canceled'])('accepts the state %s', (state) => {
    const result = validateDeliveryListQuery({ state });
    expect(result.ok && result.value.state).toBe(state);
  });

  it.each([
    [{ page: '0' }, 'page', 'out_of_range'],
    [{ page: '-1' }, 'page', 'invalid_value'],
    [{ page: '1.5' }, 'page', 'invalid_value'],
    [{ page: ['1', '2'] }, 'page', 'repeated'],
    [{ per_page: '0' }, 'per_page', 'out_of_range'],
    [{ per_page: '101' }, 'per_page', 'out_of_range'],
    [{ per_page: 'ten' }, 'per_page', 'invalid_value'],
    [{ state: 'delivered' }, 'state', 'invalid_value'],
    [{ state: 'PENDING' }, 'state', 'invalid_value'],
    [{ state: { a: 1 } }, 'state', 'invalid_type'],
  ])('refuses %j', (query, field, code) => {
    const result = validateDeliveryListQuery(query);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([expect.objectContaining({ field, code, message: expect.stringContaining(field) })]);
  });

  it('lists the allowed states when refusing one', () => {
    const result = validateDeliveryListQuery({ state: 'done' });
    expect(!result.ok && result.errors[0]!.message).toBe('state must be one of: pending, in_flight, succeeded, failed, canceled');
  });
});
