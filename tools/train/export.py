"""Export a trained checkpoint to ONNX + manifest.json + parity files.

  /usr/bin/python3 tools/train/export.py --checkpoint RUN/best.pt --out public/models/NAME
      [--name lipsync-default] [--version 0.1.0] [--mel-json mel.json] [--license ...] [--description ...]
  /usr/bin/python3 tools/train/export.py --init-onnx public/models/generator.onnx --upsample transposed --out DIR
      re-exports shipped weights (its manifest's crop, mel and training record carry over), here with the decoder's
      nearest upsampling rewritten as transposed convs: the same function, fewer FLOPs.

Writes OUT/generator.onnx (opset 17, static shapes, eval mode, no BatchNorm), OUT/manifest.json
(src/engine/generator/manifest.ts contract) and OUT/parity.json + OUT/parity.bin: fixed inputs and the
torch output so a TypeScript test can check onnxruntime-web reproduces it (max abs diff <= 1e-4).
Also checks the exported graph's op set against the allowed list (fails otherwise).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ARTICULATION_INPUT, OPENING_GAIN_INPUT, GeneratorConfig, LipSyncGenerator, articulation_example, count_flops, count_params, with_upsample  # noqa: E402
from onnx_inspect import inspect_onnx  # noqa: E402
from contract import ops_refused, ops_with  # noqa: E402

OPSET = 17
# The ops the exported graph may use: the contract's export set (src/engine/contract.json, shared with the engine).
ALLOWED_OPS = ops_with("export")
INPUT_NAMES = ("masked", "reference", "audio")  # + ARTICULATION_INPUT, OPENING_GAIN_INPUT when the config has them


def input_names(cfg: GeneratorConfig) -> tuple:
    return INPUT_NAMES + ((ARTICULATION_INPUT,) if cfg.articulation else ()) + ((OPENING_GAIN_INPUT,) if cfg.opening_gain else ())
OUTPUT_NAME = "face"
MEL_PLACEHOLDER = {"nMels": 80, "placeholder": "fill with the engine's MEL_CONFIG used by data:prepare"}


def load_checkpoint(path: str, raw: bool = False) -> tuple[LipSyncGenerator, dict]:
    """The checkpoint's network: its weight average when the run kept one (train.py --ema), unless raw."""
    state = torch.load(path, map_location="cpu")
    model = LipSyncGenerator(GeneratorConfig.from_json(state["config"]))
    model.load_state_dict(state["ema"]["model"] if "ema" in state and not raw else state["model"])
    model.eval()
    return model, state


def parity_inputs(cfg: GeneratorConfig, seed: int = 1234):
    """Deterministic, contract-shaped inputs (masked rows filled, audio in [-1, 1])."""
    g = torch.Generator().manual_seed(seed)
    s = cfg.size
    masked = torch.rand(1, 3, s, s, generator=g)
    masked[:, :, cfg.lower_start:] = 0.5
    reference = torch.rand(1, 3, s, s, generator=g)
    audio = torch.rand(1, cfg.mel_bins, cfg.audio_frames, generator=g) * 2 - 1
    out = (masked, reference, audio)
    if cfg.articulation:
        out += (articulation_example(cfg, 1, g),)
    if cfg.opening_gain:
        # Not 1, so the parity check exercises the gain.
        out += (torch.full((1, 1), 0.7),)
    return out


def export(model: LipSyncGenerator, state: dict, out: str, name: str, version: str, mel: dict | None,
           license_: str, description: str, mask_fill: float = 0.5) -> dict:
    cfg = model.cfg
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "generator.onnx")
    inputs = parity_inputs(cfg)
    # The optional inputs by name (a trailing dict is torch.onnx's keyword arguments): a model with the opening gain but
    # no articulation must not have its gain taken for the articulation.
    named = dict(zip(input_names(cfg)[3:], inputs[3:]))
    kwargs = {k: named[n] for k, n in (("articulation", ARTICULATION_INPUT), ("opening_gain", OPENING_GAIN_INPUT)) if n in named}
    with torch.no_grad():
        torch.onnx.export(model, inputs[:3] + (kwargs,), onnx_path, opset_version=OPSET, input_names=list(input_names(cfg)),
                          output_names=[OUTPUT_NAME], do_constant_folding=True, dynamic_axes=None)
        face = model(*inputs[:3], **kwargs)

    info = inspect_onnx(onnx_path)
    refused = ops_refused(info["ops"], "export")
    if refused:
        raise SystemExit(f"The exported graph {refused}.")
    for attrs in info["resize"]:
        if attrs.get("mode", "nearest") not in ("nearest", "linear"):
            raise SystemExit(f"Resize with mode {attrs.get('mode')!r}; only nearest/linear are allowed")

    # Parity: raw little-endian float32, in this order; offsets in floats.
    tensors = {**dict(zip(input_names(cfg), inputs)), OUTPUT_NAME: face}
    entries, offset = {}, 0
    with open(os.path.join(out, "parity.bin"), "wb") as f:
        for key, t in tensors.items():
            a = t.detach().numpy().astype("<f4")
            f.write(a.tobytes())
            entries[key] = {"shape": list(a.shape), "offset": offset, "length": int(a.size),
                            "mean": float(a.mean()), "first": [float(x) for x in a.ravel()[:4]]}
            offset += int(a.size)
    parity = {"model": "generator.onnx", "file": "parity.bin", "dtype": "float32-le", "tolerance": 1e-4,
              "inputs": {k: entries[k] for k in input_names(cfg)}, "output": {"name": OUTPUT_NAME, **entries[OUTPUT_NAME]}}
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(parity, f, indent=1)

    meta = state.get("meta", {})
    s = cfg.size
    manifest = {
        "name": name,
        "version": version,
        "model": "generator.onnx",
        "cropSize": s,
        "cropTemplate": meta.get("cropTemplate") or "unknown",
        "maskRatio": cfg.mask_ratio,
        "imageRange": [0, 1],
        "maskFill": meta.get("maskFill", mask_fill),
        "inputs": {
            "masked": {"name": "masked", "shape": [1, 3, s, s]},
            "reference": {"name": "reference", "shape": [1, 3, s, s]},
            "audio": {"name": "audio", "shape": [1, cfg.mel_bins, cfg.audio_frames]},
            # The person's (p50, p90) inner-lip gap (src/engine/contract.json `articulation`); `prior` until known.
            **({ARTICULATION_INPUT: {"name": ARTICULATION_INPUT, "shape": [1, 2], "prior": list(cfg.articulation)}}
               if cfg.articulation else {}),
            # How far the mouth opens, 1 = as trained (src/engine/face/openingGain.ts).
            **({OPENING_GAIN_INPUT: {"name": OPENING_GAIN_INPUT, "shape": [1, 1]}} if cfg.opening_gain else {}),
        },
        "output": {"name": OUTPUT_NAME, "shape": [1, 3, s, s]},
        "audioWindow": {"past": cfg.past, "lookahead": cfg.lookahead},
        "mel": mel or meta.get("mel") or dict(MEL_PLACEHOLDER),
        "trainedOn": f"{', '.join(meta.get('identities', [])) or 'unknown'} ({state.get('step', 0)} steps, "
                     f"batch {state.get('args', {}).get('batch', '?')})",
        "description": description,
        "license": license_,
        "architecture": {
            "params": count_params(model), "gflopsPerFrame": round(count_flops(model) / 1e9, 4),
            "ops": sorted(set(info["ops"])), "opset": info["opset"], "config": cfg.to_json(),
        },
        "sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return {"onnx": onnx_path, "bytes": os.path.getsize(onnx_path), "ops": info["ops"], "opset": info["opset"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--init-onnx", help="a generator.onnx with its manifest.json beside it, instead of a checkpoint")
    ap.add_argument("--upsample", choices=["nearest", "transposed"], help="with --init-onnx: the decoder's upsampling")
    ap.add_argument("--opening-gain", action="store_true",
                    help="give the graph the openingGain input (model.GeneratorConfig.opening_gain; adds no weights: "
                         "1 is the network as trained)")
    ap.add_argument("--raw-weights", action="store_true",
                    help="with --checkpoint of a run with --ema: export the last trained weights, not their average")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="lipsync-default")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--mel-json", help="JSON file with the mel config (else index.json's `mel`, else a placeholder)")
    ap.add_argument("--license", default="Apache-2.0")
    ap.add_argument("--description", default="Lean audio-conditioned U-Net generating the lower half of a 128px face "
                                              "crop from a masked crop, a reference crop and a log-mel window.")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    if a.checkpoint:
        if a.upsample:
            raise SystemExit("--upsample goes with --init-onnx: a checkpoint keeps the architecture it was trained with")
        model, state = load_checkpoint(a.checkpoint, a.raw_weights)
        print(f"weights: {'the average (--ema)' if 'ema' in state and not a.raw_weights else 'as trained'}")
        base = None
    else:
        from train import load_onnx_weights
        base = json.load(open(os.path.join(os.path.dirname(os.path.abspath(a.init_onnx)), "manifest.json")))
        try:
            cfg = with_upsample(GeneratorConfig.from_json(base["architecture"]["config"]), a.upsample, a.init_onnx)
        except ValueError as e:
            raise SystemExit(str(e))
        model = LipSyncGenerator(cfg)
        load_onnx_weights(model, a.init_onnx)
        state = {"meta": {"cropTemplate": base.get("cropTemplate"), "maskFill": base.get("maskFill"), "mel": base.get("mel")}}
    if a.opening_gain and not model.cfg.opening_gain:
        model.cfg = GeneratorConfig(**{**model.cfg.to_json(), "opening_gain": True})
    model.eval()
    mel = json.load(open(a.mel_json)) if a.mel_json else None
    r = export(model, state, a.out, a.name, a.version, mel, a.license, a.description)
    if base is not None:  # the weights' training record is the source's
        path = os.path.join(a.out, "manifest.json")
        m = json.load(open(path))
        m["trainedOn"] = base.get("trainedOn", m["trainedOn"])
        json.dump(m, open(path, "w"), indent=2)
    print(f"wrote {r['onnx']} ({r['bytes'] / 1e6:.2f} MB, opset {r['opset']}, ops {sorted(set(r['ops']))})")


if __name__ == "__main__":
    main()
