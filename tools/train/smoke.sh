#!/usr/bin/env bash
# CI smoke test for the trainer (< 2 min on 2 CPU cores): synthetic data -> pairs from the shared
# TypeScript sampler -> a few training steps -> resume -> ONNX export with manifest and parity files.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# SMOKE_MODEL_OUT=DIR keeps the exported model (generator.onnx, manifest.json, parity.*) for the
# onnxruntime-web parity check (tools/train/parity.test.ts).
MODEL_OUT="${SMOKE_MODEL_OUT:-$WORK/model}"

"$PY" "$HERE/synth.py" --out "$WORK/data" --clips 3 --frames 40 --identities 2
(cd "$ROOT" && npx tsx tools/train/write_pairs.ts "$WORK/data" --epochs 2 --seed 1)
"$PY" -m unittest discover -s "$HERE" -p 'test_*.py'
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run" --steps 3 --batch 4 --val-identities person1 \
  --val-every 3 --val-pairs 8 --log-every 1
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run" --steps 5 --batch 4 --val-identities person1 \
  --val-every 5 --val-pairs 8 --log-every 1 --resume
# The mouth-opening / lip-shape expert and the generator losses that use it (training only, not exported).
"$PY" "$HERE/opening.py" --data "$WORK/data" --out "$WORK/opening.pt" --val-identities person1 --steps 3 --batch 4 --lip-shape --flip 0.5
# With generated mouths labelled by the scoring landmarker (label-generated.ts writes the same format; the synthetic
# set stands in for one here), and the report of an existing expert on both.
"$PY" "$HERE/opening.py" --data "$WORK/data" --out "$WORK/opening-gen.pt" --val-identities person1 --steps 3 --batch 4 --lip-shape \
  --generated "$WORK/data" --generated-fraction 0.5
out=$("$PY" "$HERE/opening.py" --data "$WORK/data" --out "$WORK/unused.pt" --val-identities person1 --check "$WORK/opening-gen.pt" --generated "$WORK/data")
grep -q '"genLipMae"' <<<"$out" || { echo "smoke: opening.py --check did not report the generated frames" >&2; exit 1; }
if "$PY" "$HERE/opening.py" --data "$WORK/data" --out "$WORK/unused.pt" --check "$WORK/opening-gen.pt" 2>/dev/null; then
  echo "smoke: opening.py --check without --val-identities should refuse" >&2; exit 1
fi
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-opening" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --opening-net "$WORK/opening.pt" --lip-weight 0.5 --select-by lipErr --flip 0.5
# The sharpness terms (0.4): discriminators, feature matching, texture energy, a full-resolution reference path;
# they resume with their discriminator state. With a weight average (--ema), which the resumed run continues, and
# the pixel terms counted over the app's paste area (--loss-area paste).
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-adv" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --gan-weight 0.05 --mouth-gan-weight 0.05 --fm-weight 0.2 --texture-weight 1 \
  --adv-start 1 --ref-features 4 --ema 0.99 --loss-area paste
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-adv" --steps 3 --batch 4 --val-identities person1 \
  --val-every 3 --val-pairs 8 --log-every 1 --gan-weight 0.05 --mouth-gan-weight 0.05 --fm-weight 0.2 --texture-weight 1 \
  --adv-start 1 --resume
# Trained discriminators kept as they are (--d-lr 0) as a perceptual critic for a new run, with frozen layers.
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-critic" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --fm-weight 0.2 --adv-start 0 --d-lr 0 --init-discriminators "$WORK/run-adv/last.pt" \
  --freeze enc.0,head
"$PY" - "$WORK/run-adv/last.pt" "$WORK/run-critic/last.pt" <<'PYEOF' || { echo "smoke: --init-discriminators/--d-lr 0 did not keep the donor's discriminators" >&2; exit 1; }
import sys, torch
a, b = (torch.load(p, map_location="cpu")["adversary"]["model"] for p in sys.argv[1:])
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "discriminators differ"
PYEOF
# The eval's face mesh as a loss (and validation's meshErr), with the shape and mouth-warp augmentations.
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-mesh" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --mesh-weight 5 --select-by meshErr --stretch 0.1 --rotate 3 --mouth-warp 0.04
grep -q '"copyRefMeshErr"' "$WORK/run-mesh/log.jsonl" || { echo "smoke: validation did not report the mesh error" >&2; exit 1; }
# Resuming with another --select-by starts best.pt afresh instead of comparing two different keys.
cp -r "$WORK/run-opening" "$WORK/run-reselect"
out=$("$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-reselect" --steps 3 --batch 4 --val-identities person1 \
  --val-every 3 --val-pairs 8 --log-every 1 --opening-net "$WORK/opening.pt" --resume)
grep -q "select-by changed (lipErr -> loss)" <<<"$out" || { echo "smoke: a changed --select-by on resume was not noticed" >&2; exit 1; }
# Options that cannot work fail before training, saying why.
for bad in "--select-by lipErr" "--flip 2" "--opening-net $WORK/run/last.pt" "--resume --ref-features 8" \
    "--resume --output warp" "--distill-silence 1" "--ema 1" "--distill-silence-opening 1" "--distill-silence-mouth 1" "--prune-widths 16,32,64,96" "--distill-weight 1" "--audio-aug 0.5" "--audio-aug 0.5 --no-augment" \
    "--resume --gan-weight 0.05 --d-highpass 30" "--d-highpass 30" "--fm-weight 0.2 --init-discriminators $WORK/run/last.pt" "--init-discriminators $WORK/run-adv/last.pt" "--fm-weight 0.2 --init-discriminators $WORK/nosuch.pt" "--freeze nosuchlayer" "--resume --articulation" "--articulation --articulation-unknown 2" "--loss-area-outside 0.2" "--loss-area paste --loss-area-outside 2" "--select-by meshErr" "--mouth-warp 0.5" "--stretch 2"; do
  out_dir="$WORK/run-bad"; [[ "$bad" == --resume* ]] && out_dir="$WORK/run-adv"
  if msg=$("$PY" "$HERE/train.py" --data "$WORK/data" --out "$out_dir" --steps 1 --batch 4 --val-identities person1 $bad 2>&1); then
    echo "smoke: train.py $bad should have failed" >&2; exit 1
  fi
  echo "refused as expected: $bad -> $(echo "$msg" | tail -1)"
done
"$PY" "$HERE/export.py" --checkpoint "$WORK/run/last.pt" --out "$MODEL_OUT" 2> >(grep -v -e UserWarning -e _jit_pass >&2)
for f in generator.onnx manifest.json parity.json parity.bin; do
  test -s "$MODEL_OUT/$f" || { echo "smoke: missing $WORK/model/$f" >&2; exit 1; }
done
# Only a residual model becomes a warp model.
if msg=$("$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-bad" --steps 1 --batch 4 --val-identities person1 \
    --init-onnx "$MODEL_OUT/generator.onnx" --output direct 2>&1); then
  echo "smoke: --init-onnx with --output direct should have failed" >&2; exit 1
fi
echo "refused as expected: --init-onnx + --output direct -> $(echo "$msg" | tail -1)"
# A narrower generator cut out of the exported one, distilled from it (the faster-generator recipe), here with the
# warp output (flow + GridSample over the reference) grown onto it, and discriminators that see the Laplacian.
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-pruned" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --init-onnx "$MODEL_OUT/generator.onnx" --prune-widths 16,32,64,96 \
  --distill-weight 1 --distill-silence 1 --output warp --opening-net "$WORK/opening.pt" --distill-silence-opening 1 --distill-silence-mouth 2 \
  --gan-weight 0.05 --mouth-gan-weight 0.05 --adv-start 1 --d-highpass 30
"$PY" "$HERE/export.py" --checkpoint "$WORK/run-pruned/last.pt" --out "$WORK/model-pruned" 2> >(grep -v -e UserWarning -e _jit_pass >&2)
# The person's articulation as a fourth input, grown onto the exported model (with the swapped-audio term, which
# pairs the donor's audio with the donor's articulation).
"$PY" "$HERE/train.py" --data "$WORK/data" --out "$WORK/run-art" --steps 2 --batch 4 --val-identities person1 \
  --val-every 2 --val-pairs 8 --log-every 1 --init-onnx "$MODEL_OUT/generator.onnx" --articulation \
  --opening-net "$WORK/opening.pt" --swap-audio-weight 0.3
"$PY" "$HERE/export.py" --checkpoint "$WORK/run-art/last.pt" --out "$WORK/model-art" 2> >(grep -v -e UserWarning -e _jit_pass >&2)
"$PY" - "$WORK" "$MODEL_OUT" <<'PY'
import json, os, sys
w, model_dir = sys.argv[1], sys.argv[2]
log = [json.loads(l) for l in open(f"{w}/run/log.jsonl")]
steps = [r["step"] for r in log if r["kind"] == "train"]
assert steps[-1] == 5 and 4 in steps, f"resume did not continue the step count: {steps}"
assert any(r["kind"] == "val" for r in log), "no validation record"
olog = [json.loads(l) for l in open(f"{w}/run-opening/log.jsonl")]
assert all("opening" in r for r in olog if r["kind"] == "train"), "--opening-net did not add its loss term"
assert all("lips" in r for r in olog if r["kind"] == "train"), "--lip-weight did not add its loss term"
assert any("openingErr" in r and "lipErr" in r and "copyRefLipErr" in r for r in olog if r["kind"] == "val"), \
    "--opening-net did not report opening and lip-shape errors"
assert os.path.exists(f"{w}/run-opening/best.pt"), "--select-by lipErr did not keep a best checkpoint"
alog = [json.loads(l) for l in open(f"{w}/run-adv/log.jsonl") if '"train"' in l]
assert [r["step"] for r in alog] == [1, 2, 3], f"adversarial run/resume steps: {[r['step'] for r in alog]}"
for key in ("ganG", "mouthGanG", "featMatch", "dLower", "dMouth", "texture"):
    assert all(key in r for r in alog[1:]), f"adversarial run did not log {key}"
import torch
adv = torch.load(f"{w}/run-adv/last.pt", map_location="cpu")
assert adv["ema"]["updates"] == 3 and adv["ema"]["decay"] == 0.99, "--ema was not kept across the resume"
vlog = [json.loads(l) for l in open(f"{w}/run-adv/log.jsonl") if '"val"' in l]
assert vlog and all(r.get("weights") == "ema" for r in vlog), "validation did not score the weight average"
plog = [json.loads(l) for l in open(f"{w}/run-pruned/log.jsonl") if '"train"' in l]
assert all("distill" in r for r in plog), "--distill-weight did not add its loss term"
assert all("distillSilence" in r for r in plog), "--distill-silence did not add its loss term"
assert all("distillSilenceOpening" in r for r in plog), "--distill-silence-opening did not add its loss term"
assert all("distillSilenceMouth" in r for r in plog), "--distill-silence-mouth did not add its loss term"
pm = json.load(open(f"{w}/model-pruned/manifest.json"))
assert pm["architecture"]["config"]["widths"] == [16, 32, 64, 96], pm["architecture"]["config"]["widths"]
assert pm["architecture"]["config"]["output"] == "warp" and "GridSample" in pm["architecture"]["ops"], pm["architecture"]["ops"]
am = json.load(open(f"{w}/model-art/manifest.json"))
prior = am["inputs"]["articulation"]["prior"]
assert am["inputs"]["articulation"]["shape"] == [1, 2] and 0 < prior[0] < prior[1] < 1, am["inputs"]
assert "articulation" in json.load(open(f"{w}/model-art/parity.json"))["inputs"], "parity file without the articulation input"
m = json.load(open(f"{model_dir}/manifest.json"))
assert pm["architecture"]["gflopsPerFrame"] < 0.5 * m["architecture"]["gflopsPerFrame"], "pruning did not cut FLOPs"
assert m["inputs"]["audio"]["shape"] == [1, 80, m["audioWindow"]["past"] + m["audioWindow"]["lookahead"]]
print("smoke ok:", m["architecture"]["params"], "params,", m["architecture"]["gflopsPerFrame"], "GFLOPs/frame")
PY
