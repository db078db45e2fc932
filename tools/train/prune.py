"""Structured channel pruning of the generator: a narrower network that starts from a trained one's weights.

For a faster live path the generator needs fewer FLOPs (issue #11: on wasm it is ~70 % of the busy time per frame).
Training a narrow network from scratch takes days on a CPU; cutting the least-used channels out of a trained one and
then distilling (train.py `--prune-widths` + `--distill-weight`) keeps most of what it learned.

Every feature map is its own choice of channels, kept by the L1 norm of the filters that write it (the usual
magnitude criterion), in their original order:
  enc.i.down out (`enc{i}.mid`), enc.i.conv out (`enc{i}.out`: the next stage's input and a decoder skip),
  dec.k conv1 out = FiLM = conv2 in (`dec{k}.mid`), dec.k conv2 out (`dec{k}.out`: the next stage's input / the head's).
Encoder stage i has widths[i] channels; decoder stages 0..3 have widths[2], widths[1], widths[0], widths[0].
The audio encoder, the reference path and the output head's outputs keep all their channels.
Only the transposed-conv decoder is handled (convert a nearest one first: train.py --upsample transposed).
"""
from __future__ import annotations

import torch

from model import GeneratorConfig

DEC_WIDTH_INDEX = (2, 1, 0, 0)


def _keep(weight: torch.Tensor, n: int) -> torch.Tensor:
    """Indices (ascending) of the n output channels (axis 0) with the largest filter L1 norm."""
    norms = weight.reshape(weight.shape[0], -1).abs().sum(1)
    return torch.sort(torch.topk(norms, n).indices).values


def prune_state(sd: dict, cfg: GeneratorConfig, widths: tuple) -> tuple[dict, GeneratorConfig]:
    """(state dict, config) of a trained generator -> the same for `widths`, each no wider than cfg.widths."""
    if cfg.upsample != "transposed":
        raise ValueError("pruning needs the transposed-conv decoder: convert the model first (--upsample transposed)")
    widths = tuple(int(w) for w in widths)
    if len(widths) != 4 or any(n < 1 or n > o for n, o in zip(widths, cfg.widths)):
        raise ValueError(f"pruned widths {widths} must be 4 positive numbers no larger than {tuple(cfg.widths)}")
    out = dict(sd)

    def take(key: str, rows=None, cols=None):
        t = sd[key]
        if rows is not None:
            t = t.index_select(0, rows)
        if cols is not None:
            t = t.index_select(1, cols)
        out[key] = t.contiguous()

    prev = None  # the previous encoder stage's output channels (None = the 6 image channels)
    enc_out = []
    for i in range(4):
        mid = _keep(sd[f"enc.{i}.down.weight"], widths[i])
        take(f"enc.{i}.down.weight", mid, prev)
        take(f"enc.{i}.down.bias", mid)
        o = _keep(sd[f"enc.{i}.conv.weight"].index_select(1, mid), widths[i])
        take(f"enc.{i}.conv.weight", o, mid)
        take(f"enc.{i}.conv.bias", o)
        enc_out.append(o)
        prev = o
    for p in ("gamma", "beta"):
        take(f"bottleneck_film.{p}.weight", prev)
        take(f"bottleneck_film.{p}.bias", prev)
    skips = [enc_out[2], enc_out[1], enc_out[0], None]  # the last stage's skip is the reference (all channels)
    for k in range(4):
        n = widths[DEC_WIDTH_INDEX[k]]
        up = sd[f"dec.{k}.up.weight"].index_select(0, prev)  # ConvTranspose weight: [cin, cout, 4, 4]
        conv1 = sd[f"dec.{k}.conv1.weight"]
        if skips[k] is not None:
            conv1 = conv1.index_select(1, skips[k])
        # conv1 and up write the same map (their sum): rank its channels by both filters.
        score = up.transpose(0, 1).reshape(up.shape[1], -1).abs().sum(1) + conv1.reshape(conv1.shape[0], -1).abs().sum(1)
        mid = torch.sort(torch.topk(score, n).indices).values
        out[f"dec.{k}.up.weight"] = up.index_select(1, mid).contiguous()
        take(f"dec.{k}.conv1.weight", mid, skips[k])
        take(f"dec.{k}.conv1.bias", mid)
        for p in ("gamma", "beta"):
            take(f"dec.{k}.film.{p}.weight", mid)
            take(f"dec.{k}.film.{p}.bias", mid)
        o = _keep(sd[f"dec.{k}.conv2.weight"].index_select(1, mid), n)
        take(f"dec.{k}.conv2.weight", o, mid)
        take(f"dec.{k}.conv2.bias", o)
        prev = o
    take("head.weight", None, prev)
    return out, GeneratorConfig(**{**cfg.to_json(), "widths": widths})
