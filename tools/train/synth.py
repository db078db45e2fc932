"""Synthetic dataset in the prepared format, for tests and CI smoke runs.

Cartoon faces whose mouth opening follows the loudness of a synthetic log-mel track, so a generator
that uses the audio can beat one that copies the reference. Pairs are NOT written here: the schedule
always comes from the TypeScript sampler (tools/train/write_pairs.ts).

  /usr/bin/python3 tools/train/synth.py --out /tmp/synth --clips 4 --frames 60 --identities 2
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from data import INNER_LIPS, LANDMARKS, MEL_BINS, MEL_PER_VIDEO_FRAME, OUTER_LIPS


def envelope(rng: np.random.Generator, m: int) -> np.ndarray:
    """Syllable-like loudness in [0,1] at 100 frames/s, with pauses."""
    e = np.zeros(m, np.float32)
    k = 0
    while k < m:
        k += int(rng.integers(5, 30))  # pause
        length = int(rng.integers(12, 30))
        if k >= m:
            break
        seg = np.sin(np.linspace(0, np.pi, length)) * rng.uniform(0.5, 1.0)
        e[k:k + length] = seg[:max(0, min(length, m - k))]
        k += length
    return e


def mel_from_envelope(rng: np.random.Generator, e: np.ndarray) -> np.ndarray:
    bins = np.arange(MEL_BINS, dtype=np.float32)
    profile = np.exp(-((bins - 20) / 18.0) ** 2) + 0.5 * np.exp(-((bins - 50) / 12.0) ** 2)
    mel = -1 + 1.8 * e[:, None] * profile[None, :] + 0.04 * rng.standard_normal((e.size, MEL_BINS))
    return np.clip(mel, -1, 1).astype(np.float32)


def draw_frame(s: int, ident: dict, openness: float, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
    img = np.empty((s, s, 3), np.float32)
    img[:] = ident["bg"]
    cx, cy = s * 0.5 + dx, s * 0.52 + dy
    face = ((xx - cx) / (0.36 * s)) ** 2 + ((yy - cy) / (0.46 * s)) ** 2 < 1
    img[face] = ident["skin"]
    for ex in (-0.14, 0.14):
        eye = ((xx - cx - ex * s) / (0.06 * s)) ** 2 + ((yy - cy + 0.12 * s) / (0.03 * s)) ** 2 < 1
        img[eye] = (0.1, 0.1, 0.15)
    mx, my = cx, cy + 0.24 * s
    hw, hh = 0.13 * s, 0.01 * s + 0.08 * s * openness
    lips = ((xx - mx) / (hw + 0.02 * s)) ** 2 + ((yy - my) / (hh + 0.025 * s)) ** 2 < 1
    inner = ((xx - mx) / hw) ** 2 + ((yy - my) / hh) ** 2 < 1
    img[lips] = ident["lip"]
    img[inner] = (0.25, 0.05, 0.08)
    img += ident["noise"] * np.sin(xx * 0.7 + yy * 0.3)[..., None]
    lm = np.zeros((LANDMARKS, 3), np.float32)
    lm[:, 0], lm[:, 1] = cx, cy
    for ids, (rx, ry) in ((OUTER_LIPS, (hw + 0.02 * s, hh + 0.025 * s)), (INNER_LIPS, (hw, hh))):
        ang = np.linspace(0, 2 * np.pi, len(ids), endpoint=False)
        lm[ids, 0] = mx + rx * np.cos(ang)
        lm[ids, 1] = my + ry * np.sin(ang)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), lm


def write_synthetic(out: str, clips: int = 4, frames: int = 60, size: int = 128, identities: int = 2,
                    seed: int = 0, invalid_rate: float = 0.05) -> dict:
    rng = np.random.default_rng(seed)
    idents = [{"bg": rng.uniform(0.2, 0.9, 3), "skin": rng.uniform(0.4, 0.9, 3), "lip": rng.uniform(0.4, 0.8, 3) * (1, 0.5, 0.5),
               "noise": rng.uniform(0, 0.04)} for _ in range(identities)]
    os.makedirs(out, exist_ok=True)
    entries = []
    for c in range(clips):
        ident = c % identities
        d = f"clip{c:03d}"
        os.makedirs(os.path.join(out, d), exist_ok=True)
        m = frames * MEL_PER_VIDEO_FRAME
        e = envelope(rng, m)
        crops = np.empty((frames, size, size, 3), np.uint8)
        lms = np.empty((frames, LANDMARKS, 3), np.float32)
        phase = rng.uniform(0, 6.28)
        for i in range(frames):
            dx, dy = 2.5 * np.sin(0.1 * i + phase), 1.5 * np.cos(0.07 * i + phase)
            crops[i], lms[i] = draw_frame(size, idents[ident], float(e[MEL_PER_VIDEO_FRAME * i]), dx, dy)
        valid = (rng.random(frames) >= invalid_rate).astype(np.uint8)
        crops[valid == 0] = 0
        crops.tofile(os.path.join(out, d, "crops.u8"))
        valid.tofile(os.path.join(out, d, "valid.u8"))
        lms.tofile(os.path.join(out, d, "landmarks.f32"))
        mel_from_envelope(rng, e).tofile(os.path.join(out, d, "mel.f32"))
        entries.append({"id": f"synth-{c}", "identity": f"person{ident}", "dir": d, "frames": frames,
                        "melFrames": m, "fps": 25})
    index = {"version": 1, "cropSize": size, "cropTemplate": "synthetic", "clips": entries}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--identities", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_synthetic(a.out, a.clips, a.frames, a.size, a.identities, a.seed)
    print(f"wrote {a.clips} synthetic clips to {a.out}")
