"""The generator contract shared with the TypeScript engine (src/engine/contract.json): read here, never copied.

LIPSYNC_CONTRACT=path reads another file (the parity tests delete an op from a copy)."""
import json
import os

_PATH = os.environ.get("LIPSYNC_CONTRACT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "engine", "contract.json")

with open(_PATH, encoding="utf-8") as _f:
    CONTRACT = json.load(_f)

SILENCE = float(CONTRACT["audio"]["silence"])
MEL_PER_VIDEO_FRAME = int(CONTRACT["audio"]["melFramesPerVideoFrame"])
MASK_FILL = float(CONTRACT["crop"]["maskFill"])
# The person-articulation input (model.GeneratorConfig.articulation): quantiles of the inner-lip gap over a window.
ARTICULATION = {"quantiles": [float(q) for q in CONTRACT["articulation"]["quantiles"]],
                "min_frames": int(CONTRACT["articulation"]["minFrames"]),
                "window_frames": int(CONTRACT["articulation"]["windowFrames"]),
                "open_floor": float(CONTRACT["articulation"]["openFloor"])}
# Augmentation defaults under the trainer's names (data.py AugmentConfig fields).
_AUG_NAMES = {"shift": "shift", "scale": "scale", "refShift": "ref_shift", "refScale": "ref_scale", "brightness": "brightness",
              "contrast": "contrast", "gain": "gain", "flip": "flip"}
AUGMENT = {py: float(CONTRACT["augment"][ts]) for ts, py in _AUG_NAMES.items()}
# Default weight of each loss term (train.py --<term>-weight; l1 is fixed at its weight).
LOSS_WEIGHTS = {term: float(spec["weight"]) for term, spec in CONTRACT["losses"].items() if not term.startswith("$")}

CAPABILITY_TEXT = {"export": "exportable by the trainer", "webgpu": "native on WebGPU", "fineTune": "readable by the browser fine-tune"}


def ops_with(capability: str) -> set:
    return {op for op, caps in CONTRACT["ops"].items() if capability in caps}


def ops_refused(ops, capability: str):
    """Worded exactly as src/engine/generator/opContract.ts opsRefusedMessage; None when every op is allowed."""
    ops = sorted(set(ops))
    unknown = [op for op in ops if op not in CONTRACT["ops"]]
    if unknown:
        s, verb = ("s", "are") if len(unknown) > 1 else ("", "is")
        return f"uses the op{s} {', '.join(unknown)}, which {verb} not in the generator contract (src/engine/contract.json)"
    lacking = [op for op in ops if op not in ops_with(capability)]
    if not lacking:
        return None
    s = "s" if len(lacking) > 1 else ""
    return (f"uses the op{s} {', '.join(lacking)}, which the generator contract (src/engine/contract.json) does not list as "
            f"{CAPABILITY_TEXT[capability]}")
