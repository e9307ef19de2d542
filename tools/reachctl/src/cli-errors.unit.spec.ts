import { AccountsError } from '@reach/accounts';
import { CliError, describeError, postgresError } from './cli-errors';

describe('postgresError', () => {
  const url = 'postgres://reach:secret@127.0.0.1:5432/reach';

  it('says where PostgreSQL was expected and how to fix it, without the password', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const message = postgresError(url, refused).message;
    expect(message).toMatch(/^cannot reach PostgreSQL at postgres:\/\/reach:\*\*\*@127\.0\.0\.1:5432\/reach \(ECONNREFUSED\): start it/);
    expect(message).toContain('or set DATABASE_URL');
    expect(message).not.toContain('secret');
  });

  it('finds the code inside the AggregateError Node raises for localhost', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(postgresError(url, new AggregateError([inner], '')).message).toMatch(/^cannot reach PostgreSQL/);
  });

  it('tells a refused login apart from an unreachable server', () => {
    const denied = Object.assign(new Error('password authentication failed for user "reach"'), { code: '28P01' });
    expect(postgresError(url, denied).message).toMatch(/refused the login .*fix the user or password in DATABASE_URL/);
  });
});

describe('describeError', () => {
  it('keeps stable codes visible', () => {
    expect(describeError(new AccountsError('NUMBER_TAKEN', '+14155552671 is provisioned to another account'))).toBe(
      '+14155552671 is provisioned to another account [NUMBER_TAKEN]',
    );
    expect(describeError(new CliError('plain'))).toBe('plain');
    expect(describeError('thrown string')).toBe('thrown string');
  });
});
