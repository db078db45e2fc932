"""Minimal ONNX reader (protobuf wire format, no `onnx` package): op types, opset, Resize attributes,
graph inputs/outputs and initializer count. Enough to check an export against the allowed op set."""
from __future__ import annotations

import sys


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def fields(buf: bytes):
    """Yields (field_number, wire_type, value) with bytes for length-delimited fields."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield fn, wt, v


def _node(buf: bytes) -> dict:
    node = {"op": "", "attrs": {}}
    for fn, _, v in fields(buf):
        if fn == 4:
            node["op"] = v.decode()
        elif fn == 5:  # AttributeProto: 1 name, 3 i, 4 s
            name, val = "", None
            for afn, _, av in fields(v):
                if afn == 1:
                    name = av.decode()
                elif afn == 4:
                    val = av.decode(errors="replace")
                elif afn == 3:
                    val = av
            node["attrs"][name] = val
    return node


def _value_name(buf: bytes) -> str:
    for fn, _, v in fields(buf):
        if fn == 1:
            return v.decode()
    return ""


def inspect_onnx(path: str) -> dict:
    data = open(path, "rb").read()
    opset, graph = None, None
    for fn, _, v in fields(data):
        if fn == 8:
            domain, version = "", None
            for ofn, _, ov in fields(v):
                if ofn == 1:
                    domain = ov.decode()
                elif ofn == 2:
                    version = ov
            if domain in ("", "ai.onnx"):
                opset = version
        elif fn == 7:
            graph = v
    if graph is None:
        raise ValueError(f"{path}: no graph")
    ops, resize, inputs, outputs, inits = [], [], [], [], 0
    for fn, _, v in fields(graph):
        if fn == 1:
            node = _node(v)
            ops.append(node["op"])
            if node["op"] == "Resize":
                resize.append(node["attrs"])
        elif fn == 5:
            inits += 1
        elif fn == 11:
            inputs.append(_value_name(v))
        elif fn == 12:
            outputs.append(_value_name(v))
    return {"opset": opset, "ops": ops, "resize": resize, "inputs": inputs, "outputs": outputs, "initializers": inits}


if __name__ == "__main__":
    from collections import Counter
    info = inspect_onnx(sys.argv[1])
    print(f"opset {info['opset']}, inputs {info['inputs']}, outputs {info['outputs']}, {info['initializers']} initializers")
    for op, n in sorted(Counter(info["ops"]).items()):
        print(f"  {op}: {n}")


def read_initializers(path: str) -> dict:
    """Float32 initializers of an ONNX file as {name: (dims, bytes little-endian)}.

    Lets the trainer start from shipped weights (generator.onnx) when no checkpoint exists, so
    training continues across sessions from what the app actually runs.
    """
    import struct
    data = open(path, "rb").read()
    graph = next((v for fn, _, v in fields(data) if fn == 7), None)
    if graph is None:
        raise ValueError(f"{path}: no graph")
    out = {}
    for fn, _, v in fields(graph):
        if fn != 5:
            continue
        dims, dtype, name, raw, floats = [], 1, "", b"", []
        for tfn, twt, tv in fields(v):
            if tfn == 1:
                if twt == 2:  # packed
                    i = 0
                    while i < len(tv):
                        d, i = _varint(tv, i)
                        dims.append(d)
                else:
                    dims.append(tv)
            elif tfn == 2:
                dtype = tv
            elif tfn == 8:
                name = tv.decode()
            elif tfn == 9:
                raw = tv
            elif tfn == 4:
                floats.extend(struct.unpack(f"<{len(tv) // 4}f", tv) if twt == 2 else [struct.unpack("<f", tv)[0]])
        if dtype != 1:
            continue
        if not raw and floats:
            raw = struct.pack(f"<{len(floats)}f", *floats)
        out[name] = (dims, raw)
    return out
