"""Memory-mapped training data in the prepared format (written by `npm run data:prepare`).

<root>/index.json   {"version":1,"cropSize":S,"cropTemplate":..,"clips":[{id,identity,dir,frames,melFrames,fps,
                    audioOffset?,excluded?}], "mel"?:{..}}   (audioOffset/excluded: tools/av-offsets.ts)
<root>/<dir>/crops.u8      uint8  [N,S,S,3] RGB aligned crops (unmasked)
<root>/<dir>/valid.u8      uint8  [N] 1 = face found
<root>/<dir>/landmarks.f32 float32 [N,478,3] face-mesh landmarks in crop pixels
<root>/<dir>/mel.f32       float32 [M,80] normalised log-mel, 100 frames/s
<root>/pairs.i32           int32 (clip, target, reference) triples from src/engine/training/sampler.ts

The trainer never picks references itself: it walks pairs.i32 in order. Every pair is checked against
the reference rule (|r - t| > minOffset, both frames valid) when the dataset is opened.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from contract import ARTICULATION, AUGMENT, MEL_PER_VIDEO_FRAME, SILENCE  # noqa: F401  (src/engine/contract.json)

OUTER_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409]
INNER_LIPS = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415]
LANDMARKS = 478
MEL_BINS = 80
DEFAULT_MIN_OFFSET = 5


class DatasetError(Exception):
    """A prepared dataset that cannot be trained on; the message says what to fix."""


@dataclass
class Clip:
    index: int
    id: str
    identity: str
    frames: int
    crops: np.ndarray      # [N,S,S,3] uint8 memmap
    valid: np.ndarray      # [N] uint8
    landmarks: np.ndarray  # [N,478,3] float32 memmap
    mel: np.ndarray        # [M,80] float32 memmap
    audio_offset: int = 0  # video frames the audio is late by (tools/av-offsets.ts); windows read it that much later
    excluded: bool = False  # audio-video offset could not be trusted: no training or validation pairs
    openings: np.ndarray | None = None  # [N] inner-lip gap per frame (fraction of the crop), NaN where no face


def _memmap(path: str, dtype, shape) -> np.ndarray:
    if not os.path.exists(path):
        raise DatasetError(f"missing file {path} (re-run `npm run data:prepare`)")
    expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
    actual = os.path.getsize(path)
    if actual != expected:
        raise DatasetError(f"{path} has {actual} bytes, expected {expected} for shape {list(shape)} {np.dtype(dtype).name}")
    return np.memmap(path, dtype=dtype, mode="r", shape=tuple(shape))


class PreparedData:
    """All clips of a prepared root plus the pair schedule."""

    def __init__(self, root: str, min_offset: int | None = None):
        self.root = root
        index_path = os.path.join(root, "index.json")
        if not os.path.exists(index_path):
            raise DatasetError(f"{index_path} not found: pass the folder written by `npm run data:prepare`")
        with open(index_path) as f:
            self.index = json.load(f)
        if self.index.get("version") != 1:
            raise DatasetError(f"{index_path}: unsupported version {self.index.get('version')!r} (expected 1)")
        self.crop_size = int(self.index["cropSize"])
        self.crop_template = str(self.index.get("cropTemplate", ""))
        self.mel_config = self.index.get("mel")
        self.min_offset = int(min_offset if min_offset is not None else self.index.get("minOffset", DEFAULT_MIN_OFFSET))
        s = self.crop_size
        self.clips: list[Clip] = []
        for i, c in enumerate(self.index["clips"]):
            d = os.path.join(root, c["dir"])
            n, m = int(c["frames"]), int(c["melFrames"])
            if int(c.get("fps", 25)) != 25:
                raise DatasetError(f"clip {c['id']}: fps {c.get('fps')} but the trainer assumes 25 fps video")
            self.clips.append(Clip(
                index=i, id=str(c["id"]), identity=str(c.get("identity", c["id"])), frames=n,
                crops=_memmap(os.path.join(d, "crops.u8"), np.uint8, (n, s, s, 3)),
                valid=np.fromfile(_check(os.path.join(d, "valid.u8"), n), dtype=np.uint8),
                landmarks=_memmap(os.path.join(d, "landmarks.f32"), np.float32, (n, LANDMARKS, 3)),
                mel=_memmap(os.path.join(d, "mel.f32"), np.float32, (m, MEL_BINS)),
                audio_offset=int(c.get("audioOffset", 0)), excluded=bool(c.get("excluded", False)),
            ))
        for clip in self.clips:
            clip.openings = frame_openings(clip.landmarks, clip.valid, s)
        pairs_path = os.path.join(root, "pairs.i32")
        if not os.path.exists(pairs_path):
            raise DatasetError(f"{pairs_path} not found: generate the schedule with the TypeScript sampler")
        raw = np.fromfile(pairs_path, dtype=np.int32)
        if raw.size == 0 or raw.size % 3:
            raise DatasetError(f"{pairs_path}: {raw.size} int32 values, expected a non-empty multiple of 3")
        self.pairs = raw.reshape(-1, 3)
        self._check_pairs()

    def _check_pairs(self) -> None:
        p = self.pairs
        if p[:, 0].min() < 0 or p[:, 0].max() >= len(self.clips):
            raise DatasetError(f"pairs.i32 names clip {int(p[:, 0].max())} but index.json has {len(self.clips)} clips")
        for clip in self.clips:
            sel = p[p[:, 0] == clip.index]
            if sel.size == 0:
                continue
            t, r = sel[:, 1], sel[:, 2]
            if min(t.min(), r.min()) < 0 or max(t.max(), r.max()) >= clip.frames:
                raise DatasetError(f"pairs.i32: clip {clip.id} has a frame index outside 0..{clip.frames - 1}")
            close = np.abs(r - t) <= self.min_offset
            if close.any():
                k = int(np.argmax(close))
                raise DatasetError(f"pairs.i32 breaks the reference rule: clip {clip.id} target {int(t[k])} reference "
                                   f"{int(r[k])} (|r - t| must be > {self.min_offset})")
            bad = (clip.valid[t] == 0) | (clip.valid[r] == 0)
            if bad.any():
                k = int(np.argmax(bad))
                raise DatasetError(f"pairs.i32 uses an invalid (no face) frame: clip {clip.id} pair ({int(t[k])}, {int(r[k])})")

    def split(self, val_identities: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of training clips and of held-out identities, schedule order kept."""
        known = {c.identity for c in self.clips}
        unknown = val_identities - known
        if unknown:
            raise DatasetError(f"--val-identities {sorted(unknown)} not in the dataset (identities: {sorted(known)})")
        is_val = np.array([c.identity in val_identities for c in self.clips])
        usable = ~np.array([c.excluded for c in self.clips])[self.pairs[:, 0]]
        mask = is_val[self.pairs[:, 0]]
        train, val = self.pairs[~mask & usable], self.pairs[mask & usable]
        if len(train) == 0:
            raise DatasetError("every pair belongs to a validation identity; nothing left to train on")
        return train, val

    def mel_window(self, clip: Clip, frame: int, past: int, lookahead: int) -> np.ndarray:
        """[80, past+lookahead] columns centre-past .. centre+lookahead-1; outside the clip = silence. The centre is
        the frame's time plus the clip's measured audio offset (0 for a clip in sync)."""
        centre = MEL_PER_VIDEO_FRAME * (frame + clip.audio_offset)
        out = np.full((MEL_BINS, past + lookahead), SILENCE, dtype=np.float32)
        lo, hi = centre - past, centre + lookahead
        a, b = max(lo, 0), min(hi, clip.mel.shape[0])
        if b > a:
            out[:, a - lo:b - lo] = clip.mel[a:b].T
        return out

    def articulation(self, clip: Clip, target: int, prior, rng: np.random.Generator | None = None,
                     unknown: float = 0.0) -> np.ndarray:
        """(p50, p90) of the person's inner-lip gap away from the target (|f - t| > min_offset, the reference rule's
        distance), or `prior` when fewer than minFrames such frames have a face. Without rng: the windowFrames frames
        nearest the target on either side. With rng (training): a random window of minFrames..windowFrames frames
        anywhere in the clip, as the live app's running window holds anything from its first second to ten seconds of
        the person, and with probability `unknown` the prior, as before the app has seen the person."""
        n, half = clip.frames, self.min_offset
        if rng is not None and rng.random() < unknown:
            return np.asarray(prior, dtype=np.float32)
        frames = np.arange(n)
        frames = frames[np.abs(frames - target) > half]
        if rng is not None and len(frames) > ARTICULATION["min_frames"]:
            length = int(rng.integers(ARTICULATION["min_frames"], min(ARTICULATION["window_frames"], len(frames)) + 1))
            start = int(rng.integers(0, len(frames) - length + 1))
            frames = frames[start:start + length]
        elif len(frames) > ARTICULATION["window_frames"]:
            # The nearest, earlier first at equal distance (src/engine/face/articulation.ts articulationAround).
            frames = frames[np.argsort(np.abs(frames - target), kind="stable")[:ARTICULATION["window_frames"]]]
        return articulation_stats(clip.openings[frames], prior)

    def articulation_prior(self, clips) -> tuple:
        """The typical person's (p50, p90): the mean over `clips` of each clip's own, rounded so it reads in a manifest."""
        stats = [articulation_stats(c.openings, None) for c in clips]
        stats = np.array([s for s in stats if s is not None])
        if len(stats) == 0:
            raise DatasetError(f"no clip has {ARTICULATION['min_frames']} frames with a face: cannot set an articulation prior")
        return tuple(round(float(v), 5) for v in stats.mean(0))

    def load(self, pairs: np.ndarray, past: int, lookahead: int, articulation_prior=None,
             rng: np.random.Generator | None = None, unknown: float = 0.0) -> dict:
        """Raw batch (no augmentation): uint8 images as float tensors in [0,1], lip landmarks, mel windows, and with
        `articulation_prior` the person's articulation (see `articulation`)."""
        tgt, ref, lips, mel, art = [], [], [], [], []
        for ci, t, r in pairs:
            clip = self.clips[int(ci)]
            tgt.append(np.asarray(clip.crops[t]))
            ref.append(np.asarray(clip.crops[r]))
            lips.append(np.asarray(clip.landmarks[t][OUTER_LIPS + INNER_LIPS, :2]))
            mel.append(self.mel_window(clip, int(t), past, lookahead))
            if articulation_prior is not None:
                art.append(self.articulation(clip, int(t), articulation_prior, rng, unknown))
        to_img = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float().div_(255.0)
        out = {"target": to_img(tgt), "reference": to_img(ref),
               "lips": torch.from_numpy(np.stack(lips)), "audio": torch.from_numpy(np.stack(mel))}
        if articulation_prior is not None:
            out["articulation"] = torch.from_numpy(np.stack(art).astype(np.float32))
        return out


def _check(path: str, n: int) -> str:
    if not os.path.exists(path):
        raise DatasetError(f"missing file {path} (re-run `npm run data:prepare`)")
    if os.path.getsize(path) != n:
        raise DatasetError(f"{path} has {os.path.getsize(path)} bytes, expected {n} (one per frame)")
    return path


# Face Mesh's left/right mirror pairs among the lips (points on the midline map to themselves).
_MIRROR = {61: 291, 146: 375, 91: 321, 181: 405, 84: 314, 185: 409, 40: 270, 39: 269, 37: 267,
           78: 308, 95: 324, 88: 318, 178: 402, 87: 317, 191: 415, 80: 310, 81: 311, 82: 312}
_MIRROR.update({b: a for a, b in list(_MIRROR.items())})
_LIPS = OUTER_LIPS + INNER_LIPS
LIP_MIRROR = [_LIPS.index(_MIRROR.get(i, i)) for i in _LIPS]  # position of each lip point's mirror image

# Inner-lip pairs (upper, lower) as positions in OUTER_LIPS + INNER_LIPS: 13/14, 82/87, 312/317.
INNER_PAIR_IDS = ((13, 14), (82, 87), (312, 317))  # Face Mesh ids (upper, lower) of the inner-lip gap
_INNER_PAIRS = [(20 + INNER_LIPS.index(u), 20 + INNER_LIPS.index(d)) for u, d in INNER_PAIR_IDS]


def frame_openings(landmarks: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """[N] inner-lip gap of every frame as a fraction of the crop (mouth_opening's measure), NaN where no face."""
    gaps = [np.maximum(landmarks[:, d, 1] - landmarks[:, u, 1], 0) for u, d in INNER_PAIR_IDS]
    out = (np.mean(gaps, 0) / size).astype(np.float32)
    out[np.asarray(valid) == 0] = np.nan
    return out


def articulation_stats(openings: np.ndarray, prior):
    """The contract's quantiles (linear interpolation) of the openings that are not NaN; `prior` when fewer than
    minFrames, or when the 90th percentile is below openFloor (a mouth that never opened). Written again in src/engine/face/articulation.ts (the parity test holds them together)."""
    v = openings[~np.isnan(openings)]
    unknown = None if prior is None else np.asarray(prior, dtype=np.float32)
    if len(v) < ARTICULATION["min_frames"]:
        return unknown
    q = np.quantile(v, ARTICULATION["quantiles"]).astype(np.float32)
    return unknown if q[-1] < ARTICULATION["open_floor"] else q


def mouth_opening(lips: torch.Tensor, size: int) -> torch.Tensor:
    """[B] inner-lip gap of the target as a fraction of the crop size (0 = closed, ~0.1 = wide open)."""
    gaps = [(lips[:, d, 1] - lips[:, u, 1]).clamp(min=0) for u, d in _INNER_PAIRS]
    return torch.stack(gaps, 1).mean(1) / size


@dataclass
class AugmentConfig:
    """Defaults from the contract (src/engine/contract.json `augment`), shared with the browser fine-tune."""
    shift: float = AUGMENT["shift"]            # max shift of target/masked, fraction of S
    scale: float = AUGMENT["scale"]            # max relative zoom of target/masked
    ref_shift: float = AUGMENT["ref_shift"]    # independent small shift of the reference
    ref_scale: float = AUGMENT["ref_scale"]
    brightness: float = AUGMENT["brightness"]
    contrast: float = AUGMENT["contrast"]
    gain: float = AUGMENT["gain"]              # per-channel colour gain
    flip: float = AUGMENT["flip"]              # probability of mirroring a whole sample left-right (train.py/opening.py --flip)
    # Trainer-only (train.py --stretch/--rotate; the browser fine-tune sees one person and leaves them at 0): one
    # shape change per sample, shared by target and reference, so the same person looks wider or narrower, longer or
    # shorter and slightly tilted. With 49 training faces the network can learn where each one's mouth sits; a face
    # it has never seen has to be read from its reference instead, and this makes that the only way on training data too.
    stretch: float = 0.0                       # max log aspect change: x scaled by e^u, y by e^-u, |u| <= stretch
    rotate: float = 0.0                        # max in-plane rotation, degrees
    # Trainer-only (train.py --mouth-warp): the lower face moved sideways and up/down and made wider or narrower against
    # the upper face, the same in target and reference. A new face's mouth does not sit where the training faces' do
    # (a turned head puts it off the nose's line); this makes the reference the only place to learn it from.
    mouth_warp: float = 0.0                    # max sideways shift as a fraction of S; up/down and width get 0.5x and 1.5x of it


# Rows (normalised -1..1) over which the mouth warp fades in: none above the eyes' level, all of it from just below the
# mask line, where the lips are in every crop of the template.
MOUTH_WARP_ROWS = (-0.3, 0.15)


@dataclass
class AudioAugmentConfig:
    """Mel-domain augmentation of the audio window, for generalising to voices never heard (9.7 minutes of speech from
    63 people is little). Off by default (`prob` 0), so the browser fine-tune, which has no audio augmentation, still
    mirrors `make_batch`. The feature scale is the dataset's own (`for_mel`: melConfig.ts's dbFloor/dbCeil as written
    into index.json by data:prepare): v = 2(dB - dbFloor)/(dbCeil - dbFloor) - 1."""
    db_floor: float              # dB of v = -1
    db_ceil: float               # dB of v = 1
    prob: float = 0.0            # probability that a sample's window is augmented
    gain_db: float = 10.0        # +-level change (a louder or quieter voice, another mic gain)
    warp_bins: float = 2.0       # +-shift along the mel axis; above 1 kHz a bin is ~3.8 % in frequency, so +-2 bins
                                 # ~ +-8 % (vocal-tract length and pitch of another speaker)
    noise_prob: float = 0.5      # of augmented windows, the share that also get a stationary noise floor
    noise_db: tuple = (-75.0, -45.0)  # its level (speech here sits near -32 dB, silence near -60 dB)

    @staticmethod
    def for_mel(mel: dict | None, prob: float) -> "AudioAugmentConfig":
        """From a dataset's mel settings (PreparedData.mel_config); a dataset without them cannot be augmented."""
        if not mel or "dbFloor" not in mel or "dbCeil" not in mel:
            raise DatasetError("audio augmentation needs the dataset's mel settings (index.json \"mel\" with dbFloor and "
                               "dbCeil, written by npm run data:prepare): prepare the data again")
        return AudioAugmentConfig(db_floor=float(mel["dbFloor"]), db_ceil=float(mel["dbCeil"]), prob=prob)


def augment_audio(audio: torch.Tensor, cfg: AudioAugmentConfig | None, g: torch.Generator) -> torch.Tensor:
    """[B,80,T] normalised log-mel -> the same with a random frequency warp, gain and noise floor per sample. Digital
    silence (and the silence padding past a clip's ends) stays silence unless noise is added: a real microphone is never
    silent, but a gain change cannot make nothing into something."""
    if cfg is None or cfg.prob <= 0:
        return audio
    b, bins, _ = audio.shape
    on = torch.rand(b, generator=g) < cfg.prob
    shift = (torch.rand(b, generator=g) * 2 - 1) * cfg.warp_bins
    gain = (torch.rand(b, generator=g) * 2 - 1) * cfg.gain_db
    noisy = torch.rand(b, generator=g) < cfg.noise_prob
    lo_db, hi_db = cfg.noise_db
    level = lo_db + torch.rand(b, generator=g) * (hi_db - lo_db)
    tilt = (torch.rand(b, bins, generator=g) * 2 - 1) * 3.0  # +-3 dB per bin: noise is never white
    # In power (silence = 0 power, so neither the warp nor the gain can make something of it).
    span = cfg.db_ceil - cfg.db_floor
    power = torch.where(audio <= SILENCE, torch.zeros_like(audio), 10.0 ** (((audio + 1) / 2 * span + cfg.db_floor) / 10.0))
    # Output bin m reads input bin m - shift (linear interpolation of power, edges held).
    pos = (torch.arange(bins, dtype=torch.float32)[None] - shift[:, None]).clamp(0, bins - 1)  # [B,80]
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=bins - 1)
    frac = (pos - i0.float())[:, :, None]
    t = audio.shape[2]
    power = (torch.gather(power, 1, i0[:, :, None].expand(b, bins, t)) * (1 - frac)
             + torch.gather(power, 1, i1[:, :, None].expand(b, bins, t)) * frac)
    power = power * 10.0 ** (gain[:, None, None] / 10.0)
    noise = 10.0 ** ((level[:, None] + tilt)[:, :, None] / 10.0)
    power = power + torch.where(noisy[:, None, None], noise, torch.zeros_like(noise))
    out = (2 * (10.0 * torch.log10(power.clamp(min=1e-30)) - cfg.db_floor) / span - 1).clamp(-1, 1)
    return torch.where(on[:, None, None], out, audio)


def _affine(batch: int, shift: float, scale: float, g: torch.Generator) -> torch.Tensor:
    """theta mapping output normalised coords to input normalised coords (affine_grid convention)."""
    s = 1.0 + (torch.rand(batch, generator=g) * 2 - 1) * scale
    t = (torch.rand(batch, 2, generator=g) * 2 - 1) * shift * 2  # normalised coords span 2
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = s
    theta[:, 1, 1] = s
    theta[:, :, 2] = t
    return theta


def _shape(batch: int, stretch: float, rotate: float, g: torch.Generator) -> torch.Tensor:
    """[B,2,2] per-sample rotation x aspect change (identity when both are 0)."""
    u = (torch.rand(batch, generator=g) * 2 - 1) * stretch
    a = (torch.rand(batch, generator=g) * 2 - 1) * math.radians(rotate)
    c, s = torch.cos(a), torch.sin(a)
    rot = torch.stack([torch.stack([c, -s], 1), torch.stack([s, c], 1)], 1)
    return rot @ torch.diag_embed(torch.stack([torch.exp(u), torch.exp(-u)], 1))


def _mouth_weight_of_row(y: torch.Tensor) -> torch.Tensor:
    t = ((y - MOUTH_WARP_ROWS[0]) / (MOUTH_WARP_ROWS[1] - MOUTH_WARP_ROWS[0])).clamp(0, 1)
    return t * t * (3 - 2 * t)


def _mouth_warp_params(batch: int, amount: float, g: torch.Generator) -> torch.Tensor:
    """[B,3]: sideways shift, up/down shift (normalised coords) and relative width change of the lower face."""
    u = torch.rand(batch, 3, generator=g) * 2 - 1
    return u * torch.tensor([2 * amount, amount, 1.5 * amount])


def _apply_mouth_warp(grid: torch.Tensor, mw: torch.Tensor) -> torch.Tensor:
    """Where each output pixel samples the input, with the lower face moved: p -> (x (1 + c w) + a w, y + b w)."""
    x, y = grid[..., 0], grid[..., 1]
    w = _mouth_weight_of_row(y)
    a, b, c = (mw[:, i, None, None] for i in range(3))
    return torch.stack([x * (1 + c * w) + a * w, y + b * w], -1)


def _unwarp_mouth_points(p: torch.Tensor, mw: torch.Tensor) -> torch.Tensor:
    """Inverse of _apply_mouth_warp for points [B,N,2] (normalised): where the content at p ends up."""
    a, b, c = (mw[:, i, None] for i in range(3))
    y = p[..., 1].clone()
    for _ in range(8):  # y + b w(y) = p_y; |b w'| < 1, so the fixed point converges
        y = p[..., 1] - b * _mouth_weight_of_row(y)
    w = _mouth_weight_of_row(y)
    return torch.stack([(p[..., 0] - a * w) / (1 + c * w), y], -1)


def _warp(img: torch.Tensor, theta: torch.Tensor, mouth: torch.Tensor | None = None) -> torch.Tensor:
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    if mouth is not None:
        grid = _apply_mouth_warp(grid, mouth)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)


def mouth_weight(lips: torch.Tensor, size: int) -> torch.Tensor:
    """Soft elliptical mask [B,1,S,S] around the lips: 1 inside a padded lip ellipse, fading to 0."""
    lo, hi = lips.min(1).values, lips.max(1).values  # [B,2]
    centre = (lo + hi) / 2
    half = (hi - lo) / 2 * 1.25 + torch.tensor([0.03, 0.05]) * size  # room for teeth/jaw movement
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dx = (coords[None, None, :] - centre[:, 0, None, None]) / half[:, 0, None, None]
    dy = (coords[None, :, None] - centre[:, 1, None, None]) / half[:, 1, None, None]
    r = torch.sqrt(dx * dx + dy * dy)
    return (1.5 - r).clamp(0, 1)[:, None]


# The app's default paste area (src/engine/face/blend.ts pasteRegionWeights, area 'mouth'), from the 40 lip points
# alone (the prepared data keeps no face oval): a third of a mouth width beside each corner, from 0.6 of the lips'
# height above the corners down to the crop's bottom, with the same 0.06·S soft edge. Outside it the app shows
# the camera's own pixels, so the generator's output there is never seen.
PASTE_SIDE, PASTE_UP, PASTE_FEATHER = 0.35, 0.6, 0.06


def paste_area_weight(lips: torch.Tensor, size: int, outside: float = 0.0) -> torch.Tensor:
    """[B,1,S,S]: 1 inside the app's mouth paste area, fading to `outside` over 0.06·S pixels beyond it."""
    outer = lips[:, :20]
    c0, c1 = lips[:, OUTER_LIPS.index(61)], lips[:, OUTER_LIPS.index(291)]  # the mouth corners
    left, right = torch.minimum(c0[:, 0], c1[:, 0]), torch.maximum(c0[:, 0], c1[:, 0])
    side = PASTE_SIDE * (c1 - c0).norm(dim=1)
    mouth_y = torch.maximum(c0[:, 1], c1[:, 1])
    lip_top = outer[..., 1].min(1).values
    top = lip_top - PASTE_UP * (mouth_y - lip_top).clamp(min=0)
    f = PASTE_FEATHER * size
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    d_left = coords[None, None, :] - (left - side)[:, None, None]
    d_right = (right + side)[:, None, None] - coords[None, None, :]
    d_top = coords[None, :, None] - top[:, None, None]
    d = torch.minimum(torch.minimum(d_left, d_right), d_top)  # [B,S,S], > 0 inside
    t = (d / f + 1).clamp(0, 1)
    inside = t * t * (3 - 2 * t)  # smoothstep, as blend.ts
    return (outside + (1 - outside) * inside)[:, None]


def make_batch(raw: dict, size: int, mask_ratio: float, mask_fill: float,
               aug: AugmentConfig | None, g: torch.Generator | None,
               audio_aug: AudioAugmentConfig | None = None) -> dict:
    """(masked, reference, audio, target, weight, opening, lips). The same colour jitter on all images of a sample; the same
    shift/zoom on target and masked, an independent small one on the reference; masking after augmentation."""
    target, reference, lips = raw["target"], raw["reference"], raw["lips"].clone()
    b = target.shape[0]
    if aug is not None:
        g = g or torch.Generator().manual_seed(0)
        theta = _affine(b, aug.shift, aug.scale, g)
        ref_theta = _affine(b, aug.ref_shift, aug.ref_scale, g)
        if aug.stretch > 0 or aug.rotate > 0:
            shape = _shape(b, aug.stretch, aug.rotate, g)
            theta = torch.cat([shape @ theta[:, :, :2], theta[:, :, 2:]], 2)
            ref_theta = torch.cat([shape @ ref_theta[:, :, :2], ref_theta[:, :, 2:]], 2)
        mouth = _mouth_warp_params(b, aug.mouth_warp, g) if aug.mouth_warp > 0 else None
        target = _warp(target, theta, mouth)
        reference = _warp(reference, ref_theta, mouth)
        # Landmarks follow the target warp: in_n = M(A out_n + t), so out_n = A^-1 (M^-1(in_n) - t).
        n = (lips + 0.0) / size * 2 - 1
        if mouth is not None:
            n = _unwarp_mouth_points(n, mouth)
        n = (n - theta[:, None, :, 2]) @ torch.linalg.inv(theta[:, :, :2]).transpose(1, 2)
        lips = (n + 1) / 2 * size
        bright = (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * aug.brightness
        contrast = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * aug.contrast
        gain = 1 + (torch.rand(b, 3, 1, 1, generator=g) * 2 - 1) * aug.gain

        def jitter(x):  # a fixed pivot keeps it the identical colour transform for every image of a sample
            return ((x - 0.5) * contrast + 0.5 + bright).mul(gain).clamp(0, 1)

        target, reference = jitter(target), jitter(reference)
        if aug.flip > 0:
            # A mirrored face is another plausible face turned the other way: more head poses for free.
            # Landmarks are in pixel-edge coordinates (0..S), so x -> S - x, and left/right points swap names.
            f = torch.rand(b, generator=g) < aug.flip
            if bool(f.any()):
                target, reference = target.clone(), reference.clone()
                target[f] = target[f].flip(3)
                reference[f] = reference[f].flip(3)
                mirrored = lips[f][:, LIP_MIRROR].clone()
                mirrored[..., 0] = size - mirrored[..., 0]
                lips[f] = mirrored
    y0 = int(round(size * (1 - mask_ratio)))
    masked = target.clone()
    masked[:, :, y0:, :] = mask_fill
    audio = raw["audio"]
    if audio_aug is not None and audio_aug.prob > 0:
        audio = augment_audio(audio, audio_aug, g or torch.Generator().manual_seed(0))
    out = {"masked": masked, "reference": reference, "audio": audio, "target": target,
           "weight": mouth_weight(lips, size), "opening": mouth_opening(lips, size), "lips": lips}
    if "articulation" in raw:
        out["articulation"] = raw["articulation"]
    return out
