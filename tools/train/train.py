"""Offline trainer for the default lip-sync generator (CPU, torch only).

  /usr/bin/python3 tools/train/train.py --data DIR --out RUN [--steps N] [--batch 8] [--time-limit MIN]
      [--resume] [--val-identities a,b] [--lr 5e-4] [--seed 0]

Walks DIR/pairs.i32 in order (the shared TypeScript sampler wrote it), cycling. Writes RUN/last.pt,
RUN/best.pt (lowest validation loss), RUN/log.jsonl (one JSON object per line: kind=train|val).
Loss = L1 on the generated rows + mouthWeight * mouth-region L1 (soft lip mask from landmarks)
       + gradWeight * image-gradient L1 (+ optional ssimWeight * (1 - SSIM)).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import queue
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (AudioAugmentConfig, AugmentConfig, DatasetError, INNER_LIPS, OUTER_LIPS, PreparedData,  # noqa: E402
                  make_batch, paste_area_weight)
from model import GeneratorConfig, LipSyncGenerator, count_params, with_upsample  # noqa: E402
from contract import AUGMENT, LOSS_WEIGHTS, MASK_FILL, SILENCE  # noqa: E402  (src/engine/contract.json)
from opening import OPENING_SCALE, lip_shape_label, load_opening_net  # noqa: E402
from average import WeightAverage  # noqa: E402
from adversarial import AdversarialWeights, Adversary, luma_laplacian  # noqa: E402
from facemesh import FaceMesh, crop_to_mesh_input, mesh_points_in_crop  # noqa: E402

MESH_LIPS = OUTER_LIPS + INNER_LIPS


def mesh_lip_error(mesh: FaceMesh, img: torch.Tensor, batch: dict, size: int) -> torch.Tensor:
    """The eval's LMD, differentiably: the crop as the app shows it (generated inside the mouth paste area, the camera
    outside), read by the eval's own face mesh (facemesh.py), against the same mesh's reading of the real target; mean
    lip-point distance as a fraction of the crop. The learned expert's readings of a new face can be off by 2-4x where
    this one's are the score itself."""
    area = paste_area_weight(batch["lips"], size)
    shown = batch["target"] * (1 - area) + img * area
    pts = mesh_points_in_crop(mesh(crop_to_mesh_input(shown))[:, MESH_LIPS], size)
    with torch.no_grad():
        real = mesh_points_in_crop(mesh(crop_to_mesh_input(batch["target"]))[:, MESH_LIPS], size)
    return (pts - real).norm(dim=2).mean() / size


SELECT_KEYS = ("loss", "l1", "mouth", "openingErr", "lipErr", "meshErr")


def image_gradients(x: torch.Tensor):
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM with a 7x7 box window (avg-pool, cheap on CPU)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda x: F.avg_pool2d(x, 7, 1, 0)
    mu_a, mu_b = pool(a), pool(b)
    var_a = pool(a * a) - mu_a ** 2
    var_b = pool(b * b) - mu_b ** 2
    cov = pool(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean()


def texture_energy(x: torch.Tensor, patch: int = 8) -> torch.Tensor:
    """Local high-frequency energy: RMS of the luma Laplacian per patch x patch block ([B,1,h,w]). The eval's
    sharpness metric is the variance of the same Laplacian over the lower crop."""
    lap = luma_laplacian(x)
    return (F.avg_pool2d(lap * lap, patch, patch) + 1e-6).sqrt()


def mouth_l1(diff: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of |difference| [B,3,H,W] under the mouth weight map [B,1,H,W] (data.mouth_weight): the lips' own pixels."""
    return (diff * weight).sum() / (weight.sum() * 3 + 1e-6)


def losses(out: torch.Tensor, batch: dict, y0: int, w: dict) -> dict:
    """All terms on the generated rows only (the rows above y0 are copied from the input), except that the
    gradient term also spans the mask line (row y0-1 -> y0), so a brightness step there is penalised."""
    o, t = out[:, :, y0:], batch["target"][:, :, y0:]
    weight = batch["weight"][:, :, y0:]
    diff = (o - t).abs()
    # With --loss-area paste, the pixel terms count where the app pastes (data.paste_area_weight), not the cheeks,
    # neck and background it never shows.
    area = batch.get("area")
    l1 = diff.mean() if area is None else mouth_l1(diff, area[:, :, y0:])
    mouth = mouth_l1(diff, weight)
    g0 = max(0, y0 - 1)
    gx_o, gy_o = image_gradients(out[:, :, g0:])
    gx_t, gy_t = image_gradients(batch["target"][:, :, g0:])
    if area is None:
        grad = (gx_o - gx_t).abs().mean() + (gy_o - gy_t).abs().mean()
    else:
        a = area[:, :, g0:]
        grad = mouth_l1((gx_o - gx_t).abs(), a[..., 1:]) + mouth_l1((gy_o - gy_t).abs(), a[..., 1:, :])
    total = l1 + w["mouth"] * mouth + w["grad"] * grad
    terms = {"l1": l1, "mouth": mouth, "grad": grad}
    if w.get("texture", 0) > 0:
        # Alignment-tolerant: asks for as much fine detail per 8x8 block as the target has, not for the same
        # edges in the same places (which L1 on an uncertain mouth turns into a blur).
        tex = (texture_energy(o) - texture_energy(t)).abs()
        tex = tex.mean() if area is None else mouth_l1(tex, F.avg_pool2d(area[:, :, y0 + 1:-1, 1:-1], 8, 8)) * 3
        total = total + w["texture"] * tex
        terms["texture"] = tex
    if w["ssim"] > 0:
        s = 1 - ssim(o, t)
        total = total + w["ssim"] * s
        terms["ssim"] = s
    terms["loss"] = total
    return terms


class Prefetcher:
    """Loads and augments the next batches in a background thread (memmap reads and torch ops release the GIL)."""

    def __init__(self, fn, depth: int = 3):
        self.fn = fn
        self.q: queue.Queue = queue.Queue(depth)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            self.q.put(self.fn())

    def next(self):
        item = self.q.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self):
        self.stop = True
        try:
            while True:
                self.q.get_nowait()
        except queue.Empty:
            pass


def save_atomic(obj, path: str):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def swapped_audio_opening(model, batch: dict, opening_net, lower_start: int, k: int) -> torch.Tensor:
    """Opening error of the first k samples generated with the NEXT sample's audio, against that sample's opening.

    The pixel losses can be met by copying the reference's mouth; this term cannot: face i with the audio of
    sample i+1 must open the mouth as far as sample i+1 did. Openings are fractions of an aligned crop, so they
    carry from one face to another. Training only; the reference rule is untouched (same reference as sample i)."""
    n = batch["audio"].shape[0]
    k = min(k, n)
    donor = (torch.arange(k) + 1) % n
    # The donor's articulation goes with its audio: the label is how far the donor opened for it.
    art = (batch["articulation"][donor],) if "articulation" in batch else ()
    out = model(batch["masked"][:k], batch["reference"][:k], batch["audio"][donor], *art)
    opening, _ = opening_net.read(out[:, :, lower_start:])
    return (opening - batch["opening"][donor] * OPENING_SCALE).abs().mean()


def evaluate(model, data, val_pairs, cfg, args, w, opening_net=None, mesh=None) -> dict:
    """Validation loss on a fixed slice of held-out pairs, no augmentation. Also reports the L1 of simply
    copying the reference's lower half (the baseline an audio-driven model has to beat on the mouth) and the
    mouth loss with mismatched audio (wrongAudioMouth - mouth > 0 means the model uses the audio)."""
    was_training = model.training
    model.eval()
    sums: dict = {}
    n = 0
    y0 = cfg.lower_start
    with torch.no_grad():
        for i in range(0, len(val_pairs), args.batch):
            raw = data.load(val_pairs[i:i + args.batch], cfg.past, cfg.lookahead, cfg.articulation or None)
            b = make_batch(raw, cfg.size, cfg.mask_ratio, MASK_FILL, None, None)
            art = b.get("articulation")
            out = model(b["masked"], b["reference"], b["audio"], art)
            terms = losses(out, b, y0, w)
            # Same inputs with another sample's audio: the gap to `mouth` shows how much the model uses audio.
            # (the articulation stays the person's own: only the audio is wrong)
            rolled = model(b["masked"], b["reference"], torch.roll(b["audio"], 1, 0), art) if len(b["audio"]) > 1 else out
            wrong = losses(rolled, b, y0, w)
            copy = b["target"].clone()
            copy[:, :, y0:] = b["reference"][:, :, y0:]
            base = losses(copy, b, y0, w)
            k = b["target"].shape[0]
            for name, v in terms.items():
                sums[name] = sums.get(name, 0.0) + float(v) * k
            sums["copyRefMouth"] = sums.get("copyRefMouth", 0.0) + float(base["mouth"]) * k
            sums["wrongAudioMouth"] = sums.get("wrongAudioMouth", 0.0) + float(wrong["mouth"]) * k
            sums["copyRefL1"] = sums.get("copyRefL1", 0.0) + float(base["l1"]) * k
            if mesh is not None:  # the eval's landmarker on the pasted crop: right audio, another sample's, the reference
                for key, img in (("meshErr", out), ("wrongAudioMeshErr", rolled), ("copyRefMeshErr", copy)):
                    sums[key] = sums.get(key, 0.0) + float(mesh_lip_error(mesh, img, b, cfg.size)) * k
            if opening_net is not None:  # opening (and lip-shape) error with the right vs another sample's audio
                label = b["opening"] * OPENING_SCALE
                lips = lip_shape_label(b["lips"], cfg.size)
                for name, img in (("", out), ("wrongAudio", rolled), ("copyRef", copy)):
                    opening, lips_pred = opening_net.read(img[:, :, y0:])
                    errs = {"OpeningErr": (opening - label).abs().mean()}
                    if lips_pred is not None:
                        errs["LipErr"] = (lips_pred - lips).abs().mean()
                    for suffix, err in errs.items():
                        key = name + suffix if name else suffix[0].lower() + suffix[1:]
                        sums[key] = sums.get(key, 0.0) + float(err) * k
            n += k
    model.train(was_training)
    return {k: v / n for k, v in sums.items()}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepared dataset root (index.json, pairs.i32)")
    ap.add_argument("--out", required=True, help="run folder for checkpoints and log.jsonl")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=0, help="minutes; 0 = no limit")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--init-onnx", default="",
                    help="start a new run from the weights of a shipped generator.onnx (its manifest.json next to it "
                         "gives the architecture): training continues across sessions without a checkpoint")
    ap.add_argument("--prune-widths", default="",
                    help="with --init-onnx: start from the file's network with its least-used channels cut out, at these "
                         "encoder/decoder widths (e.g. 24,48,96,144; prune.py), for a faster generator")
    ap.add_argument("--freeze", default="",
                    help="comma-separated parameter-name prefixes that do not train (e.g. enc.0,enc.1,head): the layers the "
                         "fine-tune leaves as they are (contract fineTune.frozen)")
    ap.add_argument("--distill-weight", type=float, default=0.0,
                    help="L1 between the generated rows and those of the --init-onnx network (the teacher, frozen), "
                         "e.g. for a pruned student")
    ap.add_argument("--distill-silence", type=float, default=0.0,
                    help="with --distill-weight: also W x L1 to the teacher with the whole batch's audio silent (the "
                         "teacher's closed mouth in silence, whatever the reference shows)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an exponential moving average of the weights with this decay (e.g. 0.998; average.py): "
                         "validation, best.pt and export.py use the average, not one noisy snapshot (0 = off)")
    ap.add_argument("--distill-silence-opening", type=float, default=0.0,
                    help="with --distill-silence and --opening-net: also W x |expert's opening of the silent output - of "
                         "the teacher's| (the mouth gap itself, which the L1 over the whole lower half barely weighs)")
    ap.add_argument("--distill-silence-mouth", type=float, default=0.0,
                    help="with --distill-silence: also W x L1 to the teacher's silent output weighted to the mouth (as "
                         "--mouth-weight): the thin dark gap a student leaves between its lips in silence, which a face "
                         "mesh reads as an open mouth, is a few pixels of the whole lower half")
    ap.add_argument("--val-identities", default="", help="comma-separated identities held out for validation")
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--val-pairs", type=int, default=256, help="held-out pairs used per validation")
    ap.add_argument("--save-every", type=int, default=500)
    ap.add_argument("--keep-every", type=int, default=0,
                    help="also keep OUT/step<N>.pt every N steps (to compare snapshots with npm run eval; 0 = off)")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mouth-weight", type=float, default=LOSS_WEIGHTS["mouth"])
    ap.add_argument("--grad-weight", type=float, default=LOSS_WEIGHTS["grad"])
    ap.add_argument("--aux-weight", type=float, default=LOSS_WEIGHTS["aux"],
                    help="weight of the training-only auxiliary loss: predict the target's mouth opening from the "
                         "audio code alone (makes the audio encoder informative early; not exported)")
    ap.add_argument("--silence-prob", type=float, default=0.5,
                    help="probability that a sample whose target mouth is closed gets silent audio (all -1): "
                         "teaches 'silence -> closed mouth' even when the reference mouth is open")
    ap.add_argument("--silence-opening", type=float, default=0.005,
                    help="inner-lip gap (fraction of the crop) below which a target mouth counts as closed")
    ap.add_argument("--ssim-weight", type=float, default=LOSS_WEIGHTS["ssim"])
    ap.add_argument("--opening-net", default="",
                    help="frozen mouth-opening expert from opening.py: adds --opening-weight * |R(generated lower half) "
                         "- target opening| (training only; rewards the right opening, which only the audio can give)")
    ap.add_argument("--opening-weight", type=float, default=LOSS_WEIGHTS["opening"])
    ap.add_argument("--lip-weight", type=float, default=LOSS_WEIGHTS["lip"],
                    help="with an --opening-net trained with --lip-shape: adds --lip-weight * |R(generated) lip landmarks "
                         "- target's| (width, corners and position of the mouth, which LMD measures)")
    ap.add_argument("--swap-audio-weight", type=float, default=LOSS_WEIGHTS["swapAudio"],
                    help="with an --opening-net: regenerate part of the batch with another sample's audio and ask the "
                         "expert for THAT sample's opening (audio, not the reference, must set the mouth)")
    ap.add_argument("--swap-audio-frac", type=float, default=0.5, help="fraction of the batch used by --swap-audio-weight")
    ap.add_argument("--select-by", default="loss", choices=SELECT_KEYS,
                    help="validation key whose minimum picks best.pt (openingErr needs --opening-net, lipErr a --lip-shape one)")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--audio-aug", type=float, default=0.0,
                    help="probability of augmenting a sample's mel window (frequency warp, gain, noise floor; data.py AudioAugmentConfig)")
    ap.add_argument("--flip", type=float, default=AUGMENT["flip"], help="probability of mirroring a training sample left-right")
    ap.add_argument("--stretch", type=float, default=0.0,
                    help="max log aspect change per sample, shared by target and reference (data.py AugmentConfig.stretch)")
    ap.add_argument("--rotate", type=float, default=0.0,
                    help="max in-plane rotation per sample in degrees, shared by target and reference")
    ap.add_argument("--mouth-warp", type=float, default=0.0,
                    help="max sideways shift of the lower face against the upper (fraction of S), shared by target and reference; "
                         "up/down and width change get 0.5x and 1.5x of it (data.py AugmentConfig.mouth_warp)")
    ap.add_argument("--mesh-weight", type=float, default=0.0,
                    help="W x lip-point distance between the eval's face mesh (facemesh.py) on the pasted generated crop and on "
                         "the real one, as a fraction of the crop; also reports meshErr in validation")
    ap.add_argument("--widths", default="32,64,128,192", help="encoder/decoder widths (new runs only)")
    ap.add_argument("--past", type=int, default=None,
                    help="mel frames before the video frame's centre (default 8); with --init-onnx it may grow the file's "
                         "window (more context costs no latency, only lookahead does)")
    ap.add_argument("--lookahead", type=int, default=8)
    ap.add_argument("--articulation", action="store_true",
                    help="give the generator the person's own mouth-opening range as a fourth input (model.GeneratorConfig."
                         "articulation; its prior is measured on the training clips); with --init-onnx it grows a model "
                         "without it, which starts as the same function")
    ap.add_argument("--articulation-unknown", type=float, default=0.15,
                    help="probability that a training sample gets the prior instead of the person's range (the app before "
                         "it has seen the person speak)")
    ap.add_argument("--articulation-lr-mult", type=float, default=10.0,
                    help="learning rate of the articulation input's weights, x --lr (grown at zero among trained weights, "
                         "they would otherwise take thousands of steps to be heard)")
    ap.add_argument("--output", default=None, choices=["residual", "direct", "warp"],
                    help="how the lower half is produced (see model.GeneratorConfig.output; new runs: residual); with "
                         "--init-onnx, warp turns a residual model into a warp model that starts as exactly that model")
    ap.add_argument("--ref-features", type=int, default=None,
                    help="channels of the full-resolution reference path (model.GeneratorConfig.ref_features); with "
                         "--init-onnx a larger value adds the path to the shipped model, starting as a no-op")
    ap.add_argument("--upsample", default=None, choices=["nearest", "transposed"],
                    help="decoder upsampling (model.GeneratorConfig.upsample; new runs: transposed); with --init-onnx, "
                         "transposed converts a nearest-upsample model exactly")
    ap.add_argument("--loss-area", choices=("lower", "paste"), default="lower",
                    help="where the L1, gradient and texture terms count: the whole generated lower half (default), or "
                         "'paste': the area the app pastes by default (lips, philtrum, cheeks beside the corners, chin; "
                         "data.paste_area_weight), with --loss-area-outside elsewhere")
    ap.add_argument("--loss-area-outside", type=float, default=None,
                    help="with --loss-area paste: the weight outside the area, 0..1 (default 0.1: keeps the rest plausible "
                         "for paste 'face')")
    ap.add_argument("--texture-weight", type=float, default=LOSS_WEIGHTS["texture"],
                    help="weight of |local Laplacian energy(generated) - (target)| per 8x8 block: asks for detail, not a blur")
    ap.add_argument("--gan-weight", type=float, default=LOSS_WEIGHTS["gan"], help="lower-half patch discriminator (hinge), generator side")
    ap.add_argument("--mouth-gan-weight", type=float, default=LOSS_WEIGHTS["mouthGan"], help="mouth-crop patch discriminator, generator side")
    ap.add_argument("--fm-weight", type=float, default=LOSS_WEIGHTS["fm"],
                    help="feature matching on both discriminators' features (the perceptual term, nothing pretrained)")
    ap.add_argument("--d-highpass", type=float, default=0.0,
                    help="the discriminators also see this gain x the luma Laplacian (adversarial.highpass; e.g. 30): "
                         "without it they cannot see a blur (spectral norm) and stay at chance")
    ap.add_argument("--adv-start", type=int, default=1000,
                    help="steps of this run before the adversarial terms reach the generator (the discriminators train from the start)")
    ap.add_argument("--d-lr", type=float, default=2e-4, help="the discriminators' learning rate; 0 keeps them as they are")
    ap.add_argument("--init-discriminators", default="",
                    help="start the discriminators from another run's checkpoint (e.g. to fine-tune with trained ones)")
    return ap.parse_args(argv)


def grow_audio_fc(w: torch.Tensor, cols: int, channels: int) -> torch.Tensor:
    """The audio code's Gemm [out, C*t_old] of a shorter past window -> [out, C*t_new] for a longer one. The convs are
    the same at every time step, so the old window's columns are the newest t_old positions of the new one (the time
    strides are powers of two and the window grows at its start); the older positions start at zero. Only the first
    conv's zero padding at the old window's start now reads real audio instead, so the grown model starts close to
    (not exactly at) the file's function."""
    t_old, t_new = w.shape[1] // channels, cols // channels
    if w.shape[1] != channels * t_old or cols != channels * t_new or t_new < t_old:
        raise SystemExit(f"--init-onnx: audio.fc has {w.shape[1]} inputs, cannot grow to {cols}")
    grown = torch.zeros(w.shape[0], channels, t_new)
    grown[:, :, t_new - t_old:] = w.reshape(w.shape[0], channels, t_old)
    return grown.reshape(w.shape[0], cols)


def load_teacher(path: str, cfg: GeneratorConfig) -> torch.nn.Module:
    """The network of a generator.onnx, frozen, as a distillation teacher for a student of config `cfg`."""
    manifest = json.load(open(os.path.join(os.path.dirname(os.path.abspath(path)), "manifest.json")))
    tcfg = GeneratorConfig.from_json(manifest["architecture"]["config"])
    if (tcfg.past, tcfg.lookahead, tcfg.size, tcfg.mask_ratio) != (cfg.past, cfg.lookahead, cfg.size, cfg.mask_ratio):
        raise SystemExit(f"--distill-weight: the teacher {path} reads another audio window or crop than the student "
                         f"(past/lookahead/size/maskRatio {tcfg.past}/{tcfg.lookahead}/{tcfg.size}/{tcfg.mask_ratio} vs "
                         f"{cfg.past}/{cfg.lookahead}/{cfg.size}/{cfg.mask_ratio})")
    teacher = LipSyncGenerator(tcfg)
    load_onnx_weights(teacher, path)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def frozen_names(model: torch.nn.Module, prefixes: str) -> set:
    """The parameters named by --freeze (name prefixes, comma-separated; `p` names p and p.*), as the browser fine-tune
    reads contract fineTune.frozen: a prefix this network lacks is skipped (with a note), but a list naming nothing is an error."""
    out, missing = set(), []
    names = [n for n, _ in model.named_parameters()]
    wanted = [x.strip() for x in prefixes.split(",") if x.strip()]
    for prefix in wanted:
        hits = [n for n in names if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            missing.append(prefix)
        out.update(hits)
    if wanted and not out:
        raise SystemExit(f"--freeze {prefixes}: no parameter of the network is named so (they look like {names[0]}, {names[-1]})")
    if missing:
        print(f"--freeze: this network has no {', '.join(missing)} (skipped)")
    return out


def load_onnx_weights(model: torch.nn.Module, path: str) -> None:
    """Copies a generator.onnx's float initializers into the model's parameters (names match the export).

    The model may extend the exported one by a full-resolution reference path (`ref_path.*`, kept at its
    initialisation) whose channels join the last decoder stage's input: those input channels of
    `dec.3.conv1.weight` start at zero, so the extended model computes exactly what the ONNX file does.
    A model with `upsample: "transposed"` also reads a file exported with nearest upsampling: its decoder's
    first convs are converted (model.convert_upsample_state), again without changing what it computes. A warp model
    reads a residual file with its flow channels at zero (model.grow_head_for_warp): the identity warp. A model with the
    articulation input reads a file without it: that input's Gemm starts at zero, so it is not heard yet."""
    from onnx_inspect import read_initializers
    from model import convert_upsample_state, grow_head_for_warp
    inits = {k: (dims, torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy()).reshape(dims))
             for k, (dims, raw) in read_initializers(path).items()}
    cfg = getattr(model, "cfg", None)
    if cfg is not None and cfg.upsample == "transposed" and "dec.0.up.weight" not in inits and "dec.0.conv1.weight" in inits:
        converted = convert_upsample_state({k: t for k, (_, t) in inits.items()}, cfg)
        inits = {k: (list(t.shape), t) for k, t in converted.items()}
    sd = model.state_dict()
    missing = [k for k in sd if k not in inits and not k.startswith(("ref_path.", "audio.articulation."))]
    if missing:
        raise SystemExit(f"--init-onnx: {path} lacks weights for {missing[:5]}{' ...' if len(missing) > 5 else ''}; "
                         "was it exported from this architecture?")
    new = {}
    for k, t in sd.items():
        if k not in inits:
            new[k] = t
            continue
        dims, a = inits[k]
        if k == "dec.3.conv1.weight" and len(dims) == 4 and dims[1] < t.shape[1] and list(dims[2:]) == list(t.shape[2:]) \
                and dims[0] == t.shape[0]:
            grown = torch.zeros_like(t)
            grown[:, :dims[1]] = a
            new[k] = grown
            continue
        if k in ("head.weight", "head.bias") and dims[0] == 3 and t.shape[0] == 5:  # residual file -> warp model
            w, b = grow_head_for_warp(inits["head.weight"][1], inits["head.bias"][1])
            new[k] = w if k == "head.weight" else b
            continue
        if k == "audio.fc.weight" and len(dims) == 2 and dims[0] == t.shape[0] and dims[1] < t.shape[1]:
            new[k] = grow_audio_fc(a, t.shape[1], model.audio.convs[-2].out_channels)
            continue
        if a.numel() != t.numel():
            raise SystemExit(f"--init-onnx: {k} has {a.numel()} values in the ONNX file, the model needs {t.numel()}")
        new[k] = a.reshape(t.shape)
    model.load_state_dict(new)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    last_path = os.path.join(args.out, "last.pt")

    data = PreparedData(args.data)
    val_ids = {s for s in args.val_identities.split(",") if s}
    train_pairs, val_pairs = data.split(val_ids)
    val_pairs = val_pairs[:args.val_pairs]

    state = None
    if args.resume:
        if not os.path.exists(last_path):
            raise SystemExit(f"--resume: {last_path} does not exist")
        state = torch.load(last_path, map_location="cpu")
        cfg = GeneratorConfig.from_json(state["config"])
        if args.ref_features is not None and args.ref_features != cfg.ref_features:
            raise SystemExit(f"--ref-features {args.ref_features}: the run being resumed has {cfg.ref_features}; the "
                             "architecture of a resumed run cannot change (start a new run with --init-onnx instead)")
        if args.upsample is not None and args.upsample != cfg.upsample:
            raise SystemExit(f"--upsample {args.upsample}: the run being resumed has {cfg.upsample}; the architecture of a "
                             "resumed run cannot change (start a new run with --init-onnx instead)")
        if args.past is not None and args.past != cfg.past:
            raise SystemExit(f"--past {args.past}: the run being resumed reads {cfg.past}; the architecture of a resumed "
                             "run cannot change (start a new run with --init-onnx instead)")
        if args.output is not None and args.output != cfg.output:
            raise SystemExit(f"--output {args.output}: the run being resumed has {cfg.output}; the architecture of a "
                             "resumed run cannot change (start a new run with --init-onnx instead)")
    elif args.init_onnx:
        manifest = json.load(open(os.path.join(os.path.dirname(os.path.abspath(args.init_onnx)), "manifest.json")))
        cfg = GeneratorConfig.from_json(manifest["architecture"]["config"])
        if args.ref_features is not None and args.ref_features != cfg.ref_features:
            if args.ref_features < cfg.ref_features:
                raise SystemExit(f"--ref-features {args.ref_features}: {args.init_onnx} already has {cfg.ref_features}; "
                                 "a path can be added, not removed")
            cfg.ref_features = args.ref_features
        if args.past is not None and args.past != cfg.past:
            if args.past < cfg.past:
                raise SystemExit(f"--past {args.past}: {args.init_onnx} already reads {cfg.past} past mel frames; the "
                                 "window can grow, not shrink")
            stride = 2 ** (len(cfg.audio_channels) - 1)  # the audio convs' total time stride
            if (args.past - cfg.past) % stride:
                raise SystemExit(f"--past {args.past}: grow {args.init_onnx}'s {cfg.past} past frames by a multiple of "
                                 f"{stride} (the audio encoder's time stride), e.g. --past {cfg.past + 4 * stride}")
            cfg.past = args.past
        if args.output is not None and args.output != cfg.output:
            if not (args.output == "warp" and cfg.output == "residual"):
                raise SystemExit(f"--output {args.output}: {args.init_onnx} has {cfg.output} output; only a residual model "
                                 "can become a warp model (it starts as the same function)")
            cfg.output = args.output
        try:
            cfg = with_upsample(cfg, args.upsample, args.init_onnx)
        except ValueError as e:
            raise SystemExit(str(e))
    else:
        cfg = GeneratorConfig(size=data.crop_size, past=8 if args.past is None else args.past, lookahead=args.lookahead,
                              widths=tuple(int(x) for x in args.widths.split(",")), output=args.output or "residual",
                              ref_features=args.ref_features or 0, upsample=args.upsample or "transposed")
    if cfg.size != data.crop_size:
        raise SystemExit(f"checkpoint is for {cfg.size}px crops but the dataset has {data.crop_size}px crops")
    if args.articulation and not cfg.articulation:
        if state is not None:
            raise SystemExit("--articulation: the run being resumed has no articulation input; the architecture of a "
                             "resumed run is fixed (start a new run with --init-onnx)")
        try:
            cfg.articulation = data.articulation_prior([c for c in data.clips if c.identity not in val_ids and not c.excluded])
        except DatasetError as e:
            raise SystemExit(str(e))
        print(f"articulation input, prior (p50, p90) {cfg.articulation}")
    if not 0 <= args.articulation_unknown <= 1:
        raise SystemExit(f"--articulation-unknown {args.articulation_unknown}: give a probability from 0 to 1")

    if args.prune_widths and (state is not None or not args.init_onnx):
        raise SystemExit("--prune-widths cuts a trained network: use it with --init-onnx, to start a run (a resumed run "
                         "keeps its widths)")
    if args.loss_area_outside is not None and args.loss_area != "paste":
        raise SystemExit("--loss-area-outside is the weight outside the paste area: use it with --loss-area paste")
    if args.loss_area == "paste":
        args.loss_area_outside = 0.1 if args.loss_area_outside is None else args.loss_area_outside
        if not 0 <= args.loss_area_outside <= 1:
            raise SystemExit(f"--loss-area-outside {args.loss_area_outside}: give a weight from 0 to 1")
    if args.d_highpass < 0:
        raise SystemExit(f"--d-highpass {args.d_highpass}: give a gain of 0 (off) or more, e.g. 30")
    if args.d_highpass > 0 and not (args.gan_weight > 0 or args.mouth_gan_weight > 0 or args.fm_weight > 0):
        raise SystemExit("--d-highpass changes what the discriminators see: use it with --gan-weight, --mouth-gan-weight or --fm-weight")
    if args.distill_silence > 0 and args.distill_weight <= 0:
        raise SystemExit("--distill-silence compares with the teacher: use it with --distill-weight (and --init-onnx)")
    if args.distill_silence_mouth > 0 and args.distill_silence <= 0:
        raise SystemExit("--distill-silence-mouth weights the silent outputs of --distill-silence: use it with --distill-silence")
    if args.distill_silence_opening > 0 and (args.distill_silence <= 0 or not args.opening_net):
        raise SystemExit("--distill-silence-opening reads the silent outputs of --distill-silence with the --opening-net "
                         "expert: use it with both")
    if args.distill_weight > 0 and not args.init_onnx:
        raise SystemExit("--distill-weight needs --init-onnx: the file's network is the teacher")
    model = LipSyncGenerator(cfg)
    if state is None and args.init_onnx:
        load_onnx_weights(model, args.init_onnx)
        print(f"initialised from {args.init_onnx}")
        if args.prune_widths:
            from prune import prune_state
            try:
                sd, cfg = prune_state(model.state_dict(), cfg, tuple(int(x) for x in args.prune_widths.split(",")))
            except ValueError as e:
                raise SystemExit(f"--prune-widths {args.prune_widths}: {e}")
            before = count_params(model)
            model = LipSyncGenerator(cfg)
            model.load_state_dict(sd)
            print(f"pruned to widths {cfg.widths}: {before} -> {count_params(model)} params")
    teacher = load_teacher(args.init_onnx, cfg) if args.distill_weight > 0 else None
    # A grown articulation input starts at zero among trained weights: its own (faster) learning rate.
    art_params = list(model.audio.articulation.parameters()) if model.audio.articulation is not None else []
    art_ids = {id(p) for p in art_params}
    frozen = frozen_names(model, args.freeze)
    for name, p in model.named_parameters():
        if name in frozen:
            p.requires_grad_(False)
    groups = [{"params": [p for n, p in model.named_parameters() if id(p) not in art_ids and n not in frozen], "lr_mult": 1.0}]
    if art_params:
        groups.append({"params": art_params, "lr_mult": args.articulation_lr_mult})
    opt = torch.optim.Adam(groups, lr=args.lr, betas=(0.9, 0.999))
    # Training-only head: audio code -> mouth opening. Its own optimiser so older checkpoints resume cleanly.
    aux_head = torch.nn.Linear(cfg.audio_dim, 1)
    silence_gen = torch.Generator().manual_seed(args.seed + 1)  # main thread only (`gen` lives in the loader)
    aux_opt = torch.optim.Adam(aux_head.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    step, cursor, best = 0, 0, math.inf
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, cursor, best = state["step"], state["cursor"], state.get("best", math.inf)
        if "aux" in state:
            aux_head.load_state_dict(state["aux"]["head"])
            aux_opt.load_state_dict(state["aux"]["optimizer"])
        print(f"resumed at step {step}")
    average = None
    if args.ema > 0 or (state is not None and "ema" in state):
        try:
            average = WeightAverage(model, args.ema or state["ema"]["decay"])
        except ValueError as e:
            raise SystemExit(str(e))
        if state is not None and "ema" in state:
            average.load_state_dict(state["ema"])
            if args.ema == 0:
                print(f"this run averages its weights: continuing the average (decay {average.decay})")
        elif state is not None:
            print("the checkpoint has no weight average: it starts from the resumed weights")
    w = {"mouth": args.mouth_weight, "grad": args.grad_weight, "ssim": args.ssim_weight, "texture": args.texture_weight}
    adv_w = AdversarialWeights(args.gan_weight, args.mouth_gan_weight, args.fm_weight, args.adv_start)
    adversary = Adversary(adv_w, cfg.size, args.d_lr, highpass=args.d_highpass) if adv_w.enabled else None
    run_start_step = step
    if adversary is not None and state is not None and "adversary" in state:
        saved = state.get("args", {}).get("d_highpass", 0.0)
        if saved != args.d_highpass:
            raise SystemExit(f"--d-highpass {args.d_highpass}: the run being resumed trained its discriminators with "
                             f"{saved}; resume with --d-highpass {saved}, or start a new run from its export (--init-onnx)")
        adversary.load_state_dict(state["adversary"]["model"])
        adversary.opt.load_state_dict(state["adversary"]["optimizer"])
        run_start_step = state["adversary"].get("runStart", 0)
    if args.init_discriminators and adversary is None:
        raise SystemExit("--init-discriminators loads discriminators for the adversarial terms: use it with --gan-weight, "
                         "--mouth-gan-weight or --fm-weight")
    if args.init_discriminators and not os.path.isfile(args.init_discriminators):
        raise SystemExit(f"--init-discriminators {args.init_discriminators}: no such checkpoint")
    if adversary is not None and args.init_discriminators and "adversary" not in (state or {}):
        donor = torch.load(args.init_discriminators, map_location="cpu")
        if "adversary" not in donor or donor.get("args", {}).get("d_highpass", 0.0) != args.d_highpass:
            raise SystemExit(f"--init-discriminators {args.init_discriminators}: no discriminators trained with --d-highpass "
                             f"{args.d_highpass} in it")
        adversary.load_state_dict(donor["adversary"]["model"])
        print(f"discriminators from {args.init_discriminators}")
    if adversary is not None and args.d_lr == 0:
        adversary.eval()  # kept as they are: spectral norm's power iteration must not move its vectors either
    opening_net = load_opening_net(args.opening_net) if args.opening_net else None
    if args.select_by == "meshErr" and args.mesh_weight <= 0:
        raise SystemExit("--select-by meshErr needs --mesh-weight (the face mesh is loaded for it)")
    mesh = FaceMesh.load() if args.mesh_weight > 0 else None
    lip_expert = opening_net is not None and opening_net.lip_shape
    if args.lip_weight > 0 and not lip_expert:
        raise SystemExit("--lip-weight needs an --opening-net trained with opening.py --lip-shape")
    if args.swap_audio_weight > 0 and opening_net is None:
        raise SystemExit("--swap-audio-weight needs an --opening-net (the expert that reads the generated opening)")
    if (args.select_by == "openingErr" and opening_net is None) or (args.select_by == "lipErr" and not lip_expert):
        raise SystemExit(f"--select-by {args.select_by} needs an --opening-net" + (" trained with --lip-shape" if args.select_by == "lipErr" else ""))
    if not 0 <= args.flip <= 1:
        raise SystemExit(f"--flip is a probability in [0, 1], got {args.flip}")
    if state is not None and state.get("selectBy", "loss") != args.select_by:
        # The kept best was the minimum of another key: comparing it with this one would keep or drop best.pt at random.
        print(f"--select-by changed ({state.get('selectBy', 'loss')} -> {args.select_by}): best.pt will be replaced at the next validation")
        best = math.inf
    if not 0 <= args.mouth_warp <= 0.1:
        raise SystemExit(f"--mouth-warp must be in [0, 0.1] (a fraction of the crop), got {args.mouth_warp}")
    if not 0 <= args.stretch <= 0.5 or not 0 <= args.rotate <= 30:
        raise SystemExit(f"--stretch must be in [0, 0.5] and --rotate in [0, 30] degrees, got {args.stretch} and {args.rotate}")
    aug = None if args.no_augment else AugmentConfig(flip=args.flip, stretch=args.stretch, rotate=args.rotate,
                                                           mouth_warp=args.mouth_warp)
    if not 0 <= args.audio_aug <= 1:
        raise SystemExit(f"--audio-aug is a probability in [0, 1], got {args.audio_aug}")
    if args.audio_aug > 0 and args.no_augment:
        raise SystemExit("--audio-aug and --no-augment contradict each other: drop one")
    try:
        audio_aug = AudioAugmentConfig.for_mel(data.mel_config, args.audio_aug) if args.audio_aug > 0 else None
    except DatasetError as e:
        raise SystemExit(f"--audio-aug: {e}")
    meta = {"dataset": os.path.abspath(args.data), "cropTemplate": data.crop_template, "mel": data.mel_config,
            "identities": sorted({c.identity for c in data.clips} - val_ids), "valIdentities": sorted(val_ids),
            "maskFill": MASK_FILL}
    print(f"model: {count_params(model)} params; {len(train_pairs)} train pairs, {len(val_pairs)} val pairs")
    shifted = [f"{c.id} {c.audio_offset:+d}" for c in data.clips if c.audio_offset]
    excluded = [c.id for c in data.clips if c.excluded]
    if shifted or excluded:  # from index.json (npm run data:av-offsets): say what the run does with them
        print(f"audio read shifted (frames): {', '.join(shifted) or 'none'}; excluded: {', '.join(excluded) or 'none'}")

    # The schedule cursor advances in the loader thread; remember where each batch started for checkpoints.
    def next_batch(pos=[cursor]):
        idx = (pos[0] + np.arange(args.batch)) % len(train_pairs)
        start = pos[0]
        pos[0] = int((pos[0] + args.batch) % len(train_pairs))
        try:
            # The articulation window's randomness comes from `gen`, so a resumed run draws the same ones.
            art_rng = np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen))) if cfg.articulation else None
            raw = data.load(train_pairs[idx], cfg.past, cfg.lookahead, cfg.articulation or None, art_rng,
                            args.articulation_unknown)
            b = make_batch(raw, cfg.size, cfg.mask_ratio, MASK_FILL, aug, gen, audio_aug)
            if args.loss_area == "paste":
                b["area"] = paste_area_weight(b["lips"], cfg.size, args.loss_area_outside)
            return start, b
        except BaseException as e:  # surfaced in the main thread
            return e

    loader = Prefetcher(next_batch)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    t_start = time.time()
    t_window, n_window = time.time(), 0

    def checkpoint(path, extra=None):
        save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                     "step": step, "cursor": cursor, "best": best, "config": cfg.to_json(), "meta": meta,
                     "args": vars(args), "selectBy": args.select_by, "aux": {"head": aux_head.state_dict(), "optimizer": aux_opt.state_dict()},
                     **({"adversary": {"model": adversary.state_dict(), "optimizer": adversary.opt.state_dict(),
                                       "runStart": run_start_step}} if adversary is not None else {}),
                     **({"ema": average.state_dict()} if average is not None else {}),
                     **(extra or {})}, path)

    def validate():
        nonlocal best
        if len(val_pairs) == 0:
            return
        v = evaluate(average.model if average is not None else model, data, val_pairs, cfg, args, w, opening_net, mesh)
        log.write(json.dumps({"kind": "val", "step": step, **v, **({"weights": "ema"} if average is not None else {})}) + "\n")
        log.flush()
        print(f"val step {step}: loss {v['loss']:.4f} mouth {v['mouth']:.4f} (wrong audio {v['wrongAudioMouth']:.4f}, "
              f"copy-reference {v['copyRefMouth']:.4f})"
              + (f" opening err {v['openingErr']:.3f} (wrong audio {v['wrongAudioOpeningErr']:.3f}, copy-reference "
                 f"{v['copyRefOpeningErr']:.3f})" if "openingErr" in v else "")
              + (f" lip err {v['lipErr']:.3f} (wrong audio {v['wrongAudioLipErr']:.3f}, copy-reference "
                 f"{v['copyRefLipErr']:.3f})" if "lipErr" in v else "")
              + (f" mesh err {v['meshErr']:.4f} (wrong audio {v['wrongAudioMeshErr']:.4f}, copy-reference "
                 f"{v['copyRefMeshErr']:.4f})" if "meshErr" in v else ""))
        if v[args.select_by] < best:
            best = v[args.select_by]
            checkpoint(os.path.join(args.out, "best.pt"))

    stopped_by = "steps"
    try:
        while step < args.steps:
            if args.time_limit and time.time() - t_start > args.time_limit * 60:
                stopped_by = "time-limit"
                break
            item = loader.next()
            if isinstance(item, BaseException):
                raise item
            start, batch = item
            lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup))
            for group in opt.param_groups + aux_opt.param_groups:
                group["lr"] = lr * group.get("lr_mult", 1.0)
            if args.silence_prob > 0:
                closed = batch["opening"] < args.silence_opening
                pick = closed & (torch.rand(closed.shape, generator=silence_gen) < args.silence_prob)
                if bool(pick.any()):
                    batch["audio"] = batch["audio"].clone()
                    batch["audio"][pick] = SILENCE
            out = model(batch["masked"], batch["reference"], batch["audio"], batch.get("articulation"))
            terms = losses(out, batch, cfg.lower_start, w)
            loss = terms["loss"]
            if teacher is not None:
                with torch.no_grad():
                    taught = teacher(batch["masked"], batch["reference"], batch["audio"])
                terms["distill"] = (out - taught)[:, :, cfg.lower_start:].abs().mean()
                loss = loss + args.distill_weight * terms["distill"]
                if args.distill_silence > 0:
                    # The teacher's mouth under digital silence, for every sample (not only the closed-mouth ones the
                    # silence swap above picks): a pruned student otherwise keeps its mouth half open in silence.
                    quiet = torch.full_like(batch["audio"], SILENCE)
                    with torch.no_grad():
                        taught_quiet = teacher(batch["masked"], batch["reference"], quiet)
                    out_quiet = model(batch["masked"], batch["reference"], quiet, batch.get("articulation"))
                    terms["distillSilence"] = (out_quiet - taught_quiet)[:, :, cfg.lower_start:].abs().mean()
                    loss = loss + args.distill_silence * terms["distillSilence"]
                    if args.distill_silence_mouth > 0:
                        y0 = cfg.lower_start
                        terms["distillSilenceMouth"] = mouth_l1((out_quiet - taught_quiet)[:, :, y0:].abs(), batch["weight"][:, :, y0:])
                        loss = loss + args.distill_silence_mouth * terms["distillSilenceMouth"]
                    if args.distill_silence_opening > 0:
                        quiet_opening, _ = opening_net.read(out_quiet[:, :, cfg.lower_start:])
                        with torch.no_grad():
                            taught_opening, _ = opening_net.read(taught_quiet[:, :, cfg.lower_start:])
                        terms["distillSilenceOpening"] = (quiet_opening - taught_opening).abs().mean()
                        loss = loss + args.distill_silence_opening * terms["distillSilenceOpening"]
            if args.aux_weight > 0:
                # Scaled (OPENING_SCALE) so a wide-open mouth is ~1. Gradients reach the audio encoder through the code.
                pred = aux_head(model.audio(batch["audio"])).squeeze(1)
                terms["aux"] = (pred - batch["opening"] * OPENING_SCALE).abs().mean()
                loss = loss + args.aux_weight * terms["aux"]
            if mesh is not None:
                terms["mesh"] = mesh_lip_error(mesh, out, batch, cfg.size)
                loss = loss + args.mesh_weight * terms["mesh"]
            if opening_net is not None:
                opening, lips_pred = opening_net.read(out[:, :, cfg.lower_start:])
                terms["opening"] = (opening - batch["opening"] * OPENING_SCALE).abs().mean()
                loss = loss + args.opening_weight * terms["opening"]
                if args.lip_weight > 0:
                    terms["lips"] = (lips_pred - lip_shape_label(batch["lips"], cfg.size)).abs().mean()
                    loss = loss + args.lip_weight * terms["lips"]
                if args.swap_audio_weight > 0:
                    k = max(1, round(args.batch * args.swap_audio_frac))
                    terms["swapOpening"] = swapped_audio_opening(model, batch, opening_net, cfg.lower_start, k)
                    loss = loss + args.swap_audio_weight * terms["swapOpening"]
            if adversary is not None:
                adv = adversary.generator_terms(out, batch["target"], batch["lips"], cfg.lower_start, step - run_start_step)
                if adv:
                    loss = loss + adv.pop("adv")
                    terms.update(adv)
            opt.zero_grad(set_to_none=True)
            aux_opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            aux_opt.step()
            if average is not None:
                average.update(model)
            if adversary is not None and args.d_lr > 0:
                terms.update(adversary.discriminator_step(out, batch["target"], batch["lips"], cfg.lower_start))
            step += 1
            cursor = (start + args.batch) % len(train_pairs)
            n_window += args.batch
            if step % args.log_every == 0 or step == 1:
                now = time.time()
                rec = {"kind": "train", "step": step, "lr": lr, **{k: float(v) for k, v in terms.items()},
                       "samplesPerSec": n_window / max(now - t_window, 1e-9), "elapsedSec": now - t_start}
                t_window, n_window = now, 0
                log.write(json.dumps(rec) + "\n")
                log.flush()
                print(f"step {step} loss {rec['loss']:.4f} l1 {rec['l1']:.4f} mouth {rec['mouth']:.4f} aux {rec.get('aux', 0):.4f} "
                      f"{rec['samplesPerSec']:.1f} samples/s")
            if step % args.val_every == 0:
                validate()
            if step % args.save_every == 0:
                checkpoint(last_path)
            if args.keep_every and step % args.keep_every == 0:
                checkpoint(os.path.join(args.out, f"step{step}.pt"))
    finally:
        loader.close()
    if step % args.val_every != 0:
        validate()
    checkpoint(last_path)
    log.write(json.dumps({"kind": "end", "step": step, "stoppedBy": stopped_by, "elapsedSec": time.time() - t_start}) + "\n")
    log.close()
    print(f"stopped at step {step} ({stopped_by}); checkpoint {last_path}")


if __name__ == "__main__":
    main()
