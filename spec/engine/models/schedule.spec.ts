import { expect } from 'chai';
import { makeSchedule } from '../../../engine/models/schedule.js';

describe('makeSchedule', () => {
  it('builds a cosine schedule with T = 100 by default', () => {
    const s = makeSchedule();
    expect(s.kind).to.equal('cosine');
    expect(s.T).to.equal(100);
    expect(s.betas.length).to.equal(100);
    expect(s.alphaBars[0]).to.be.greaterThan(0.99);
    expect(s.alphaBars[99]).to.be.lessThan(1e-3);
    for (let i = 1; i < 100; i++) expect(s.alphaBars[i]).to.be.lessThan(s.alphaBars[i - 1]);
    for (const b of s.betas) expect(b).to.be.within(0, 0.999);
  });

  it('matches the closed form ᾱ_t = f(t+1)/f(0) of Nichol & Dhariwal', () => {
    const T = 50;
    const s = makeSchedule({ kind: 'cosine', T });
    const f = (t: number): number => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [0, 10, 25, 40]) expect(s.alphaBars[t]).to.be.closeTo(f(t + 1) / f(0), 1e-9);
  });

  it('builds a linear schedule scaled to T', () => {
    const s = makeSchedule({ kind: 'linear', T: 1000 });
    expect(s.betas[0]).to.be.closeTo(1e-4, 1e-12);
    expect(s.betas[999]).to.be.closeTo(0.02, 1e-12);
    expect(makeSchedule({ kind: 'linear', T: 100 }).betas[99]).to.be.closeTo(0.2, 1e-12);
  });

  it('rejects a bad T or kind with a one-line error', () => {
    expect(() => makeSchedule({ T: 1 })).to.throw(
      /^schedule T must be an integer in \[2, 10000\] \(got 1\)$/,
    );
    expect(() => makeSchedule({ kind: 'cubic' as 'linear' })).to.throw(
      /schedule kind must be one of/,
    );
  });
});
