import { sendsPerMinuteProblem, simSlotProblem } from './devices.repository';

describe('device settings', () => {
  it('takes 1 to 10000 sends per minute', () => {
    for (const ok of [1, 30, 10_000]) expect(sendsPerMinuteProblem(ok)).toBeNull();
    for (const bad of [0, -1, 10_001, 2.5, Number.NaN]) expect(sendsPerMinuteProblem(bad)).toMatch(/from 1 to 10000/);
  });

  it('takes SIM slots 0 to 7', () => {
    for (const ok of [0, 1, 7]) expect(simSlotProblem(ok)).toBeNull();
    for (const bad of [-1, 8, 0.5]) expect(simSlotProblem(bad)).toMatch(/from 0 to 7/);
  });
});
