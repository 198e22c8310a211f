import { expect } from 'chai';
import { colormap, dragView, normalizeCloud, projectCloud } from '../../dashboard/projection.js';

describe('embedding projection', () => {
  it('normalises a cloud into the unit ball around its centre', () => {
    const cloud = normalizeCloud([10, 10, 10, 14, 10, 10, 12, 12, 10]);
    const radii = [0, 1, 2].map((i) =>
      Math.hypot(cloud[3 * i], cloud[3 * i + 1], cloud[3 * i + 2]),
    );
    expect(Math.max(...radii)).to.be.closeTo(1, 1e-6);
    expect(cloud[0]).to.be.closeTo(-cloud[3], 1e-6);
  });

  it('projects the front view straight onto the canvas, y up', () => {
    const p = projectCloud(
      Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
      { yaw: 0, pitch: 0 },
      200,
      100,
    );
    expect([p.x[0], p.y[0]]).to.deep.equal([100, 50]);
    expect(p.x[1]).to.be.closeTo(100 + 45, 1e-4);
    expect(p.y[2]).to.be.closeTo(50 - 45, 1e-4);
    expect(p.depth[3]).to.be.closeTo(1, 1e-6);
    // Drawn far to near: the point nearest the viewer last.
    expect(p.order.at(-1)).to.equal(3);
  });

  it('turns a quarter by yaw: x goes into depth', () => {
    const p = projectCloud(Float32Array.from([1, 0, 0]), { yaw: Math.PI / 2, pitch: 0 }, 100, 100);
    expect(p.x[0]).to.be.closeTo(50, 1e-4);
    expect(Math.abs(p.depth[0])).to.be.closeTo(1, 1e-6);
  });

  it('drags yaw freely and clamps pitch', () => {
    expect(dragView({ yaw: 0, pitch: 0 }, 100, 0).yaw).to.be.closeTo(1, 1e-9);
    expect(dragView({ yaw: 0, pitch: 1.5 }, 0, 1000).pitch).to.equal(Math.PI / 2);
  });

  it('maps 0..1 to the colour ramp, clamped', () => {
    expect(colormap(0)).to.equal('rgb(68,1,84)');
    expect(colormap(1)).to.equal('rgb(253,231,37)');
    expect(colormap(7)).to.equal(colormap(1));
    expect(colormap(NaN)).to.equal(colormap(0));
  });
});
