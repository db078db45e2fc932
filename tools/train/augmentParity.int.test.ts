/**
 * The browser fine-tune's augmentation and loss defaults against the offline trainer's, run live: the Python
 * functions (data.py `_warp`, `make_batch`, `AugmentConfig`, train.py's flag defaults) are called here on the same
 * inputs as the TypeScript ones, so a change on either side — or in the shared contract file — shows up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import contract from '../../src/engine/contract.json' with { type: 'json' };
import { CropWarper, DEFAULT_AUGMENT, augmentFromContract, warpLandmarks, type Affine } from '../../src/engine/training/augment.ts';
import { DEFAULT_LOSS_WEIGHTS, LIP_POINTS, mouthWeightMap } from '../../src/engine/training/losses.ts';
import { mulberry32 } from '../../src/engine/training/rng.ts';
import { fineTuneTrainerArgs } from './fineTuneRecipe.ts';
import { DEFAULT_FROZEN, trainableUnder } from '../../src/engine/training/fineTune.ts';
import { LANDMARK_COUNT } from '../../src/engine/face/meshIndices.ts';

const PYTHON = '/usr/bin/python3';

/** Runs `code` in tools/train with `input` as JSON on stdin; the code prints one JSON value. */
function py<T>(code: string, input: unknown = null, env: Record<string, string> = {}): T {
  const r = spawnSync(PYTHON, ['-c', `import json, sys\nIN = json.load(sys.stdin)\n${code}`], {
    cwd: import.meta.dirname,
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

const PY_AUG_NAMES: Record<string, string> = { refShift: 'ref_shift', refScale: 'ref_scale' };
const pyAugment = (a: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [PY_AUG_NAMES[k] ?? k, v]));

/** The trainer's own geometry augmentations (train.py --stretch/--rotate/--mouth-warp): off unless asked for, as the
 *  browser fine-tune, which sees one person, has none of them. */
const TRAINER_ONLY_OFF = { stretch: 0, rotate: 0, mouth_warp: 0 };

const TRAINER_DEFAULTS = `
import dataclasses, data, train
a = train.parse_args(["--data", "x", "--out", "y"])
print(json.dumps({"augment": dataclasses.asdict(data.AugmentConfig()), "flip": a.flip,
                  "mouth": a.mouth_weight, "grad": a.grad_weight, "aux": a.aux_weight, "gan": a.gan_weight,
                  "trainerOnly": {"stretch": a.stretch, "rotate": a.rotate, "mouth_warp": a.mouth_warp}}))`;

interface TrainerDefaults {
  augment: Record<string, number>;
  flip: number;
  mouth: number;
  grad: number;
  aux: number;
  gan: number;
  trainerOnly: Record<string, number>;
}

function noise(seed: number, n: number): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
}

describe('augmentation and loss defaults: the browser fine-tune and the offline trainer', () => {
  it('both read the contract’s defaults (flip included)', () => {
    const d = py<TrainerDefaults>(TRAINER_DEFAULTS);
    expect(d.augment).toEqual({ ...pyAugment({ ...DEFAULT_AUGMENT }), ...TRAINER_ONLY_OFF });
    expect(d.trainerOnly).toEqual(TRAINER_ONLY_OFF);
    expect(d.flip).toBe(DEFAULT_AUGMENT.flip);
    expect([d.mouth, d.grad]).toEqual([DEFAULT_LOSS_WEIGHTS.mouth, DEFAULT_LOSS_WEIGHTS.grad]);
    expect([d.aux, d.gan]).toEqual([contract.losses.aux.weight, contract.losses.gan.weight]);
  });

  it('a default changed in the contract file changes both trainers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-aug-'));
    try {
      const changed = {
        ...contract,
        augment: { ...contract.augment, flip: 0.25, shift: 0.07 },
        losses: { ...contract.losses, mouth: { ...contract.losses.mouth, weight: 3.5 } },
      };
      const file = join(dir, 'contract.json');
      writeFileSync(file, JSON.stringify(changed));
      const d = py<TrainerDefaults>(TRAINER_DEFAULTS, null, { LIPSYNC_CONTRACT: file });
      const ts = augmentFromContract(changed);
      expect(ts).toEqual({ ...DEFAULT_AUGMENT, flip: 0.25, shift: 0.07 });
      expect(d.augment).toEqual({ ...pyAugment({ ...ts }), ...TRAINER_ONLY_OFF });
      expect(d.flip).toBe(0.25);
      expect(d.mouth).toBe(3.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the fine-tune recipe in the PyTorch trainer (npm run eval:finetune-sweep)', () => {
  it("turns on exactly the fine-tune's loss terms at its weights, with its flip and its frozen layers", () => {
    const a = py<Record<string, number>>(
      `import train
a = vars(train.parse_args(["--data", "x", "--out", "y"] + IN))
print(json.dumps({k: v for k, v in a.items() if k.endswith("_weight") or k == "flip"}))`,
      fineTuneTrainerArgs(),
    );
    const on = Object.entries(a)
      .filter(([k, v]) => k.endsWith('_weight') && v !== 0)
      .map(([k]) => k)
      .sort();
    expect(on).toEqual(['grad_weight', 'mouth_weight', 'texture_weight']);
    expect([a.mouth_weight, a.grad_weight, a.texture_weight, a.flip]).toEqual([
      DEFAULT_LOSS_WEIGHTS.mouth,
      DEFAULT_LOSS_WEIGHTS.grad,
      DEFAULT_LOSS_WEIGHTS.texture,
      DEFAULT_AUGMENT.flip,
    ]);
    // The trainer freezes exactly the layers the FineTuner does, on a network of the shipped architecture.
    const { all, frozen } = py<{ all: string[]; frozen: string[] }>(
      `import train, torch
from model import GeneratorConfig, LipSyncGenerator
a = train.parse_args(["--data", "x", "--out", "y"] + IN)
m = LipSyncGenerator(GeneratorConfig(ref_features=16, upsample="transposed"))
print(json.dumps({"all": [n for n, _ in m.named_parameters()], "frozen": sorted(train.frozen_names(m, a.freeze))}))`,
      fineTuneTrainerArgs(),
    );
    const trainable = trainableUnder(DEFAULT_FROZEN);
    expect(frozen).toEqual(all.filter((n) => !trainable(n)).sort());
    expect(frozen).toContain('head.weight');
    expect(frozen.some((n) => n.startsWith('audio.') || n.includes('.film.'))).toBe(false);
    expect(frozen).toContain('ref_path.0.weight');
  });
});

describe('CropWarper against data.py, live', () => {
  const S = 12;

  it('matches _warp (grid_sample, align_corners=False, border padding) for zooms and shifts', () => {
    const src = noise(3, S * S * 3);
    const affines: Affine[] = [
      { scale: 0.5, tx: 0, ty: 0 },
      { scale: 1.2, tx: 0.5, ty: -0.25 },
      { scale: 0.97, tx: -0.06, ty: 0.04 },
    ];
    const want = py<number[][]>(
      `import torch, data
img = torch.tensor(IN["src"], dtype=torch.float32).reshape(1, ${S}, ${S}, 3).permute(0, 3, 1, 2) / 255
out = []
for a in IN["affines"]:
    theta = torch.tensor([[[a["scale"], 0, a["tx"]], [0, a["scale"], a["ty"]]]], dtype=torch.float32)
    out.append(data._warp(img, theta).flatten().tolist())
print(json.dumps(out))`,
      { src: [...src], affines },
    );
    const warper = new CropWarper(S);
    const out = new Float32Array(3 * S * S);
    affines.forEach((a, i) => {
      warper.warp(src, a, { brightness: 0, contrast: 1, gain: [1, 1, 1] }, [0, 1], out);
      const err = Math.max(...out.map((v, j) => Math.abs(v - want[i][j])));
      expect(err, JSON.stringify(a)).toBeLessThan(1e-5);
    });
  });

  it('a flipped sample matches make_batch with flip: images, and the mouth weight that follows the lips', () => {
    const crop = noise(7, S * S * 3);
    const rng = mulberry32(9);
    const landmarks = new Float32Array(LANDMARK_COUNT * 3);
    for (const i of LIP_POINTS) {
      landmarks[3 * i] = 3 + rng() * 4; // lips left of centre, so a mirror really moves them
      landmarks[3 * i + 1] = 7 + rng() * 3;
    }
    const lips = LIP_POINTS.map((i) => [landmarks[3 * i], landmarks[3 * i + 1]]);
    const want = py<{ target: number[]; weight: number[] }>(
      `import torch, data
img = torch.tensor(IN["crop"], dtype=torch.float32).reshape(1, ${S}, ${S}, 3).permute(0, 3, 1, 2) / 255
raw = {"target": img, "reference": img.clone(), "lips": torch.tensor([IN["lips"]], dtype=torch.float32), "audio": torch.zeros(1, 80, 4)}
aug = data.AugmentConfig(shift=0, scale=0, ref_shift=0, ref_scale=0, brightness=0, contrast=0, gain=0, flip=1.0)
b = data.make_batch(raw, ${S}, 0.5, 0.5, aug, torch.Generator().manual_seed(0))
print(json.dumps({"target": b["target"].flatten().tolist(), "weight": b["weight"].flatten().tolist()}))`,
      { crop: [...crop], lips },
    );
    const identity: Affine = { scale: 1, tx: 0, ty: 0 };
    const target = new Float32Array(3 * S * S);
    new CropWarper(S).warp(crop, identity, { brightness: 0, contrast: 1, gain: [1, 1, 1] }, [0, 1], target, true);
    expect(Math.max(...target.map((v, j) => Math.abs(v - want.target[j])))).toBeLessThan(1e-6);
    const weight = mouthWeightMap(warpLandmarks(landmarks, S, identity, undefined, true), S);
    expect(Math.max(...weight.map((v, j) => Math.abs(v - want.weight[j])))).toBeLessThan(1e-5);
    // The mirror moved the mouth: the unflipped weight differs.
    const unflipped = mouthWeightMap(landmarks, S);
    expect(Math.max(...unflipped.map((v, j) => Math.abs(v - want.weight[j])))).toBeGreaterThan(0.1);
  });
});
