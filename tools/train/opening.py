"""Mouth-opening expert: a small frozen CNN that reads the inner-lip gap off the lower half of a crop.

  /usr/bin/python3 tools/train/opening.py --data DIR --out FILE.pt [--val-identities a,b] [--steps 3000] [--lip-shape]
                                         [--generated DIR[,DIR] --generated-fraction 0.5] [--check FILE.pt]

Used by train.py (--opening-net FILE.pt) as a training-only loss: |R(generated lower half) - opening(target)|.
The pixel losses reward any plausible mouth; this one rewards the *right amount of opening*, which the
generator can only get from the audio (the masked input hides the mouth and the reference is > minOffset
frames away). It plays the role Wav2Lip's SyncNet expert plays, reduced to the one quantity our sync
and silence metrics measure. Labels come from the prepared landmarks (data.mouth_opening), scaled by 10 so a
wide-open mouth is about 1.

With --lip-shape it also reads the 40 lip landmarks (outer + inner lips) off the crop, so train.py can add
--lip-weight * |R(generated) - target lips|: the opening alone says nothing of the mouth's width, corners or
where it sits, and those are what the mouth landmark distance (LMD) of the evaluation measures.

With --generated (folders written by tools/train/label-generated.ts) part of every batch is *generated* mouths labelled
by the evaluation's face landmarker. Trained on real mouths only, the expert and that landmarker disagreed on generated
ones by up to 4x in opening, so the generator was taught a reading the score does not share. Validation reports both
the real held-out frames and the generated ones (`gen*`) of the held-out identities; --check FILE.pt reports them for
an existing expert without training.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import INNER_LIPS, OUTER_LIPS, AugmentConfig, PreparedData, make_batch  # noqa: E402

OPENING_SCALE = 10.0
LIP_POINTS = len(OUTER_LIPS) + len(INNER_LIPS)


def lip_shape_label(lips: torch.Tensor, size: int) -> torch.Tensor:
    """[B,40,2] lip landmarks (crop pixels) -> positions in the lower half, as fractions of the crop x OPENING_SCALE
    (so one crop pixel at 128 px is 0.08, the same units as the opening)."""
    return (lips - torch.tensor([0.0, size / 2])) / size * OPENING_SCALE


class OpeningNet(nn.Module):
    """[B,3,H/2,W] lower half of a crop in [0,1] -> [B] opening * OPENING_SCALE (forward), and with lip_shape
    also [B,40,2] lip positions (read). The lip head sees the whole final feature map, not its mean: positions
    need to know *where* a feature fired."""

    def __init__(self, width: int = 24, lip_shape: bool = False):
        super().__init__()
        w = width
        self.lip_shape = lip_shape
        self.convs = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(4 * w, 4 * w, 3, 2, 1), nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(4 * w, 1)
        # 128 px crops: 64x128 lower half -> 32x64 -> 2x4 after four stride-2 convs.
        self.lips = nn.Linear(4 * w * 2 * 4, 2 * LIP_POINTS) if lip_shape else None

    def read(self, lower: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = F.avg_pool2d(lower, 2)  # 64x128 -> 32x64: the gap is several pixels wide even at half size
        x = self.convs(x)
        opening = self.fc(x.mean((2, 3))).squeeze(1)
        if self.lips is None:
            return opening, None
        if x.shape[2:] != (2, 4):
            raise ValueError(f"the lip-shape expert reads 128 px crops; got a lower half of {tuple(lower.shape[2:])}")
        return opening, self.lips(x.flatten(1)).view(-1, LIP_POINTS, 2)

    def forward(self, lower: torch.Tensor) -> torch.Tensor:
        return self.read(lower)[0]


def load_opening_net(path: str) -> OpeningNet:
    state = torch.load(path, map_location="cpu")
    if not isinstance(state, dict) or "width" not in state or "model" not in state:
        raise SystemExit(f"{path} is not a mouth expert written by opening.py (is it a generator checkpoint?)")
    net = OpeningNet(state["width"], state.get("lipShape", False))
    net.load_state_dict(state["model"])
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--val-identities", default="")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flip", type=float, default=AugmentConfig.flip, help="probability of mirroring a training sample left-right")
    ap.add_argument("--cosine", action="store_true", help="cosine learning-rate decay to 0 (the last readings are less noisy)")
    ap.add_argument("--lip-shape", action="store_true", help="also read the 40 lip landmarks (for train.py --lip-weight)")
    ap.add_argument("--generated", default="", help="comma-separated folders of landmarker-labelled generated mouths (label-generated.ts)")
    ap.add_argument("--generated-fraction", type=float, default=0.5, help="share of each batch drawn from --generated")
    ap.add_argument("--check", default="", help="report an existing expert's validation errors (real and --generated) and exit")
    args = ap.parse_args(argv)
    if not 0 <= args.flip <= 1:
        ap.error(f"--flip is a probability in [0, 1], got {args.flip}")
    if not 0 <= args.generated_fraction < 1:
        ap.error(f"--generated-fraction is a share in [0, 1) (every batch keeps real mouths), got {args.generated_fraction}")
    if args.check and not args.val_identities:
        ap.error("--check reports the held-out identities' errors: pass --val-identities")
    # Create the output folder now, not after minutes of training.
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = PreparedData(args.data)
    train_pairs, val_pairs = data.split({s for s in args.val_identities.split(",") if s})
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    aug = AugmentConfig(flip=args.flip)
    s = data.crop_size
    y0 = s // 2
    val_names = {s for s in args.val_identities.split(",") if s}
    generated = [PreparedData(d) for d in args.generated.split(",") if d]
    for g in generated:
        if g.crop_size != s:
            ap.error(f"{g.root} holds {g.crop_size} px crops, {args.data} {s} px ones")
    # (dataset index, clip, target, reference) over all generated folders, split by identity like the real pairs.
    # A generated folder may hold only some identities (e.g. only the held-out ones, for --check): no split errors here.
    gen_split = []
    for g in generated:
        held = np.array([c.identity in val_names for c in g.clips])[g.pairs[:, 0]]
        gen_split.append((g.pairs[~held], g.pairs[held]))
    tag = lambda k, p: np.concatenate([np.full((len(p), 1), k, dtype=p.dtype), p], 1) if len(p) else np.zeros((0, 4), np.int64)
    gen_train = np.concatenate([tag(k, tv[0]) for k, tv in enumerate(gen_split)]) if generated else np.zeros((0, 4), np.int64)
    gen_val = np.concatenate([tag(k, tv[1]) for k, tv in enumerate(gen_split)]) if generated else np.zeros((0, 4), np.int64)
    if generated and not len(gen_train) and not args.check:
        ap.error("--generated holds no frames outside the validation identities")
    n_gen = int(round(args.batch * args.generated_fraction)) if len(gen_train) else 0
    if args.check:
        net = load_opening_net(args.check)
        args.lip_shape = net.lips is not None
    else:
        net = OpeningNet(args.width, args.lip_shape)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)

    def batch_of(pairs, augment, source=None):
        source = source or data
        raw = source.load(pairs, 0, 1)
        b = make_batch(raw, s, 0.5, 0.5, aug if augment else None, gen)
        return b["target"][:, :, y0:], b["opening"] * OPENING_SCALE, lip_shape_label(b["lips"], s)

    def gen_batch_of(tagged, augment):
        parts = [batch_of(tagged[tagged[:, 0] == k][:, 1:], augment, g) for k, g in enumerate(generated) if (tagged[:, 0] == k).any()]
        return tuple(torch.cat(z) for z in zip(*parts))

    def evaluate():
        out = measure(val_pairs, batch_of)
        if len(gen_val):
            out.update({f"gen{k[0].upper()}{k[1:]}": v for k, v in measure(gen_val, gen_batch_of).items()})
        return out

    def measure(pairs, reader):
        net.eval()
        errs, labels, lip_errs, lip_labels = [], [], [], []
        with torch.no_grad():
            sel = pairs[np.linspace(0, len(pairs) - 1, min(512, len(pairs))).astype(int)]
            for i in range(0, len(sel), 64):
                x, y, lips = reader(sel[i:i + 64], False)
                opening, lips_pred = net.read(x)
                errs.append((opening - y).abs())
                labels.append(y)
                if lips_pred is not None:
                    lip_errs.append((lips_pred - lips).abs().mean((1, 2)))
                    lip_labels.append(lips)
        net.train()
        e, y = torch.cat(errs), torch.cat(labels)
        out = {"mae": float(e.mean()), "labelStd": float(y.std()), "maeOfMean": float((y - y.mean()).abs().mean())}
        if lip_errs:  # vs always guessing the mean lip shape of the held-out set
            ly = torch.cat(lip_labels)
            out.update(lipMae=float(torch.cat(lip_errs).mean()), lipMaeOfMean=float((ly - ly.mean(0)).abs().mean()))
        return out

    if args.check:
        print(json.dumps(evaluate() if len(val_pairs) else {}))
        return
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = rng.integers(0, len(train_pairs), args.batch - n_gen)
        if args.cosine:
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * (step - 1) / args.steps))
        x, y, lips = batch_of(train_pairs[idx], True)
        if n_gen:
            gx, gy, glips = gen_batch_of(gen_train[rng.integers(0, len(gen_train), n_gen)], True)
            x, y, lips = torch.cat([x, gx]), torch.cat([y, gy]), torch.cat([lips, glips])
        opening, lips_pred = net.read(x)
        loss = F.smooth_l1_loss(opening, y, beta=0.1)
        if lips_pred is not None:
            loss = loss + F.smooth_l1_loss(lips_pred, lips, beta=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0 or step == args.steps:
            v = evaluate() if len(val_pairs) else {}
            print(json.dumps({"step": step, "loss": float(loss), **v, "sec": round(time.time() - t0)}), flush=True)
    torch.save({"model": net.state_dict(), "width": args.width, "lipShape": args.lip_shape, "scale": OPENING_SCALE,
                "generated": [g.root for g in generated], "val": evaluate() if len(val_pairs) else None}, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
