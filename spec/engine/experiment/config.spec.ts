import { expect } from 'chai';
import {
  checkConfig,
  CONFIG_FIELDS,
  CONFIG_KEYS,
  configFromMeta,
  CONFIG_PRESETS,
  configSchema,
  datasetCount,
  DEFAULT_CONFIG,
  didYouMean,
  MAX_DATASET_IMAGES,
  parseFieldText,
  resolveConfig,
  type ExperimentConfig,
} from '../../../engine/experiment/config.js';
import { gaussianBumps } from '../../../streams/gaussian-bumps.js';

const oneLine = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    const message = (err as Error).message;
    expect(message.split('\n'), message).to.have.length(1);
    return message;
  }
  throw new Error('expected a throw');
};

describe('config schema', () => {
  it('fills the default experiment', () => {
    const cfg = resolveConfig();
    expect(cfg).to.deep.equal(DEFAULT_CONFIG);
    expect(cfg).to.include({ steps: 3000, snapshotEvery: 200, size: 16, dx: 0.5, dy: 0.5 });
    expect(cfg.widths).to.deep.equal([16, 32, 64]);
    expect(cfg).not.to.have.any.keys('hole', 'runId', 'name', 'tags', 'notes');
  });

  it('does not share the default arrays between configs', () => {
    resolveConfig().widths.push(1);
    expect(resolveConfig().widths).to.deep.equal([16, 32, 64]);
  });

  it('takes dy from dx unless dy is given', () => {
    expect(resolveConfig({ dx: 1 }).dy).to.equal(1);
    expect(resolveConfig({ dx: 1, dy: 2 }).dy).to.equal(2);
  });

  it('treats an undefined setting as not given', () => {
    expect(resolveConfig({ steps: undefined }).steps).to.equal(3000);
  });

  it('keeps name, tags and notes of a run', () => {
    const cfg = resolveConfig({ name: 'wide dx', tags: ['sweep', 'dx'], notes: 'second try' });
    expect(cfg).to.include({ name: 'wide dx', notes: 'second try' });
    expect(cfg.tags).to.deep.equal(['sweep', 'dx']);
  });

  const bad: [Partial<Record<keyof ExperimentConfig, unknown>>, string][] = [
    [{ steps: 0 }, 'steps must be an integer from 1 to 1000000000 (got 0)'],
    [{ steps: 1e12 }, 'steps must be an integer from 1 to 1000000000 (got 1000000000000)'],
    [{ steps: Infinity }, 'steps must be an integer from 1 to 1000000000 (got Infinity)'],
    [{ steps: NaN }, 'steps must be an integer from 1 to 1000000000 (got NaN)'],
    [{ steps: 2.5 }, 'steps must be an integer from 1 to 1000000000 (got 2.5)'],
    [{ steps: '10' }, 'steps must be an integer from 1 to 1000000000 (got "10")'],
    [{ lr: Infinity }, 'lr must be a number > 0 and <= 1 (got Infinity)'],
    [{ dx: -1 }, 'dx must be a number > 0 and <= 255 (got -1)'],
    [{ dx: 20 }, 'dx must be a number > 0 and <= size - 1 = 15 (got 20)'],
    [{ size: 20 }, 'size must be a multiple of 8 from 8 to 256 (got 20)'],
    [{ emaDecay: 1 }, 'emaDecay must be a number >= 0 and < 1 (got 1)'],
    [
      { widths: [8, 16] },
      'widths must be three integers from 4 to 1024, e.g. 16,32,64 (got [8,16])',
    ],
    [
      { backend: 'quantum' },
      'backend must be one of auto, tensorflow-gpu, tensorflow, native, wasm, cpu (got "quantum")',
    ],
    [{ embed: 'tsne' }, 'embed must be one of umap, pca (got "tsne")'],
    [{ attention: 'yes' }, 'attention must be true or false (got "yes")'],
    [{ ddimSteps: 50, timesteps: 10 }, 'ddimSteps must be <= timesteps = 10 (got 50)'],
    [
      { hole: { x0: 5, y0: 0, x1: 2, y1: 3 } },
      'hole must be four numbers x0,y0,x1,y1 in pixels with x0 <= x1 and y0 <= y1 (got {x0:5,y0:0,x1:2,y1:3})',
    ],
    [
      { runId: '..' },
      `runId must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter, digit or '_' (got "..")`,
    ],
    [
      { runId: 'a/b' },
      `runId must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter, digit or '_' (got "a/b")`,
    ],
    [{ name: 'two\nlines' }, 'name must be one line of 1 to 200 characters (got "two\\nlines")'],
    [
      { tags: ['a,b'] },
      'tags must be up to 32 comma-separated tags of 1 to 64 characters (got ["a,b"])',
    ],
  ];
  for (const [partial, message] of bad) {
    it(`rejects ${JSON.stringify(partial)} in one line naming field, value and range`, () => {
      expect(oneLine(() => resolveConfig(partial as Partial<ExperimentConfig>))).to.equal(message);
    });
  }

  it('rejects an unknown key with "did you mean"', () => {
    expect(oneLine(() => resolveConfig({ stesp: 3 } as Partial<ExperimentConfig>))).to.equal(
      'unknown config key "stesp" (did you mean "steps"?)',
    );
    expect(
      oneLine(() => resolveConfig({ snapshotevery: 3 } as Partial<ExperimentConfig>)),
    ).to.equal('unknown config key "snapshotevery" (did you mean "snapshotEvery"?)');
    expect(oneLine(() => resolveConfig({ zzzzzz: 1 } as Partial<ExperimentConfig>))).to.match(
      /^unknown config key "zzzzzz"; accepted: steps, snapshotEvery, /,
    );
  });

  it('rejects a config that is not an object', () => {
    expect(oneLine(() => checkConfig(3))).to.equal('config must be an object of settings (got 3)');
  });

  it('names fields by their flag for the command line', () => {
    expect(oneLine(() => checkConfig({ snapshotEvery: 0 }, 'flag'))).to.equal(
      '--snapshot-every must be an integer from 1 to 1000000000 (got 0)',
    );
  });

  it('bounds the dataset by memory before it is built', () => {
    const message = oneLine(() => resolveConfig({ dx: 1e-6, labelMargin: 0 }));
    expect(message).to.match(
      /^dx 0\.000001 and dy 0\.000001 at size 16 give 2\.25e\+14 training images; at most 10000000 are held in memory \(dx, dy >= 0\.0048 at this size\)$/,
    );
    // the spacing it suggests is accepted, and one a little smaller is not
    expect(() => resolveConfig({ dx: 0.0048, labelMargin: 0 })).not.to.throw();
    expect(() => resolveConfig({ dx: 0.0046, labelMargin: 0 })).to.throw(/training images/);
    // centres 2 px from the edge (the default) leave 11 px to tile, not 15
    expect(oneLine(() => resolveConfig({ dx: 1e-6 }))).to.match(
      /give 1\.21e\+14 training images; .* \(dx, dy >= 0\.0035 at this size\)$/,
    );
    expect(() => resolveConfig({ dx: 0.0035 })).not.to.throw();
    expect(() => resolveConfig({ size: 256, dx: 0.5 })).not.to.throw();
    expect(datasetCount({ size: 256, dx: 0.05, dy: 0.05 })).to.be.above(MAX_DATASET_IMAGES);
  });

  it('counts the dataset exactly as gaussianBumps lays it out', () => {
    for (const [size, dx, dy] of [
      [16, 0.5, 0.5],
      [16, 1, 0.3],
      [8, 0.1, 7],
      [32, 3, 3],
    ]) {
      for (const margin of [0, 2, 1.5]) {
        expect(datasetCount({ size, dx, dy, labelMargin: margin }), `${size} ${dx} ${dy}`).to.equal(
          gaussianBumps({ size, dx, dy, margin }).count,
        );
      }
    }
  });

  it('derives every field default, range and flag from one table', () => {
    for (const key of CONFIG_KEYS) {
      const f = CONFIG_FIELDS[key];
      expect(f.description, key).to.be.a('string').and.not.equal('');
      expect(f.accepted, key).to.be.a('string').and.not.equal('');
      if (f.default !== undefined) {
        expect(configSchema.shape[key].safeParse(f.default).success, key).to.equal(true);
      }
    }
    const flags = CONFIG_KEYS.map((k) => CONFIG_FIELDS[k].flag).filter(Boolean);
    expect(new Set(flags).size).to.equal(flags.length);
  });

  it('types command-line text by field kind', () => {
    expect(parseFieldText('steps', '10')).to.equal(10);
    expect(parseFieldText('steps', 'ten')).to.equal('ten');
    expect(parseFieldText('steps', '')).to.equal('');
    expect(parseFieldText('widths', '8,16,32')).to.deep.equal([8, 16, 32]);
    expect(parseFieldText('tags', ' a, b ,,c')).to.deep.equal(['a', 'b', 'c']);
    expect(parseFieldText('hole', '1,2,3,4')).to.deep.equal({ x0: 1, y0: 2, x1: 3, y1: 4 });
    expect(parseFieldText('attention', 'true')).to.equal(true);
    expect(parseFieldText('backend', 'cpu')).to.equal('cpu');
  });

  it('suggests near names only', () => {
    expect(didYouMean('stesp', ['steps', 'size'])).to.equal('steps');
    expect(didYouMean('batchsize', ['batch-size', 'seed'])).to.equal('batch-size');
    expect(didYouMean('quantum', ['steps', 'size'])).to.equal(undefined);
  });

  describe('configFromMeta (resume)', () => {
    it('reads a config stored before the UNet settings existed as the classic model', () => {
      // Such runs were made with the default preset, which was the classic model then.
      const classic = { ...resolveConfig({ preset: 'classic' }), preset: 'default' as const };
      const stored: Record<string, unknown> = { ...classic };
      for (const k of ['groups', 'pool', 'upsample', 'bottleneck', 'init', 'condLayers']) {
        delete stored[k];
      }
      for (const k of ['stem', 'upMid', 'labelMargin']) delete stored[k];
      expect(configFromMeta(stored, 'runs/old')).to.deep.equal(classic);
    });

    it('reads a stored config, ignoring what the store derived', () => {
      const stored = {
        ...resolveConfig({ steps: 40 }),
        datasetSize: 961,
        params: 1234,
        model: 'unet-ddpm',
        runId: 'r',
      };
      expect(configFromMeta(stored, 'runs/r')).to.deep.equal(resolveConfig({ steps: 40 }));
    });

    it('says in one line when meta.json has no config', () => {
      expect(oneLine(() => configFromMeta(undefined, 'runs/r'))).to.equal(
        'runDir "runs/r" has no config in its meta.json (got nothing)',
      );
    });

    it('names the run dir and the field of a stored config that is not valid', () => {
      expect(oneLine(() => configFromMeta({ dx: -1 }, 'runs/r'))).to.equal(
        'runDir "runs/r" has a config that is not valid: dx must be a number > 0 and <= 255 (got -1)',
      );
    });
  });

  describe('preset', () => {
    it('is "default" unless given, and the default preset is the default experiment', () => {
      expect(resolveConfig().preset).to.equal('default');
      expect(resolveConfig({ preset: 'default' })).to.deep.equal(DEFAULT_CONFIG);
    });

    it('"seed" sets the seed-004 model as a group and leaves the rest at the defaults', () => {
      const cfg = resolveConfig({ preset: 'seed' });
      expect(cfg).to.include({
        preset: 'seed',
        size: 32,
        attention: true,
        attentionAt: 'interlaced',
        posEncoding: 'standard',
        condHidden: 0,
      });
      const rest = (c: ExperimentConfig): Partial<ExperimentConfig> => {
        const o: Partial<ExperimentConfig> = { ...c };
        for (const k of ['preset', ...Object.keys(CONFIG_PRESETS.seed)]) {
          delete o[k as keyof ExperimentConfig];
        }
        return o;
      };
      expect(rest(cfg)).to.deep.equal(rest(DEFAULT_CONFIG));
    });

    it('loses to settings given explicitly (the command line wins)', () => {
      const cfg = checkConfig(
        { preset: 'seed', size: 16, attentionAt: 'interlaced-half', attention: true },
        'flag',
      );
      expect(cfg).to.include({
        size: 16,
        attentionAt: 'interlaced-half',
        posEncoding: 'standard',
        condHidden: 0,
      });
      expect(resolveConfig({ preset: 'seed', posEncoding: 'fine' }).posEncoding).to.equal('fine');
    });

    it('survives a round trip through meta.json (a resumed run keeps its settings)', () => {
      const cfg = resolveConfig({ preset: 'seed', steps: 50, widths: [8, 16, 32] });
      expect(configFromMeta({ ...cfg, runId: 'r' }, 'runs/r')).to.deep.equal(cfg);
    });

    it('rejects an unknown preset in one line naming the accepted ones', () => {
      expect(
        oneLine(() => resolveConfig({ preset: 'paper' } as unknown as Partial<ExperimentConfig>)),
      ).to.equal('preset must be one of default, classic, seed, phase-b (got "paper")');
      expect(oneLine(() => checkConfig({ preset: 3 }, 'flag'))).to.equal(
        '--preset must be one of default, classic, seed, phase-b (got 3)',
      );
    });

    it('rejects an unknown attention placement in one line', () => {
      expect(
        oneLine(() =>
          resolveConfig({ attentionAt: 'everywhere' } as unknown as Partial<ExperimentConfig>),
        ),
      ).to.equal(
        'attentionAt must be one of bottom, interlaced, interlaced-half (got "everywhere")',
      );
    });
  });
});
