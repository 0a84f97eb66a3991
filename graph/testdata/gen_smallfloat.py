"""Writes smallfloat.txt, the reference table that float8_test.go checks
graph's small-float conversions against.

Run with /usr/bin/python3 (numpy only). The values come from the format
definitions, not from onnxkit's code, and by a different method: each
code is decoded from its fields, and a value is encoded by searching all
codes for the nearest (ties to the even code), then applying the
saturation table of the ONNX Cast operator.

Lines:
  decode FORMAT CODE FLOAT32BITS
  encode FORMAT SATURATE FLOAT32BITS CODE
  e8m0 MODE SATURATE FLOAT32BITS CODE      (normal float32 inputs only)
"""
import math
import random

import numpy as np

# name: (exponent bits, mantissa bits, bias, kind)
FORMATS = {
    "float8e4m3fn": (4, 3, 7, "fn"),
    "float8e4m3fnuz": (4, 3, 8, "fnuz"),
    "float8e5m2": (5, 2, 15, "ieee"),
    "float8e5m2fnuz": (5, 2, 16, "fnuz"),
    "float4e2m1": (2, 1, 1, "none"),
}


def decode(fmt, code):
    e, m, bias, kind = FORMATS[fmt]
    nbits = 1 + e + m
    sign = -1.0 if code >> (nbits - 1) else 1.0
    exp = (code >> m) & ((1 << e) - 1)
    man = code & ((1 << m) - 1)
    if kind == "fnuz" and code == 1 << (nbits - 1):
        return math.nan
    if kind == "fn" and exp == (1 << e) - 1 and man == (1 << m) - 1:
        return math.nan
    if kind == "ieee" and exp == (1 << e) - 1:
        return sign * math.inf if man == 0 else math.nan
    if exp == 0:
        return sign * man * 2.0 ** (1 - bias - m)
    return sign * (1 + man / 2**m) * 2.0 ** (exp - bias)


def f32bits(x):
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def encode(fmt, x, saturate):
    e, m, bias, kind = FORMATS[fmt]
    nbits = 1 + e + m
    signbit = 1 << (nbits - 1)
    neg = math.copysign(1, x) < 0
    finite = [(c, decode(fmt, c)) for c in range(signbit)]
    finite = [(c, v) for c, v in finite if not math.isnan(v) and not math.isinf(v)]
    maxcode, maxval = max(finite, key=lambda cv: cv[1])
    # The value one step past the largest finite, with unbounded exponent:
    # its code is maxcode+1 as if the exponent field did not end.
    beyond = maxval + 2.0 ** (math.floor(math.log2(maxval)) - m)
    nan = {"fn": signbit | (signbit - 1) if neg else signbit - 1,
           "fnuz": signbit,
           "ieee": (0xFE if neg else 0x7E),
           "none": signbit}[kind]
    if math.isnan(x):
        return nan
    overflow_code = (signbit if neg else 0) | maxcode
    if not saturate:
        if kind == "ieee":
            overflow_code = 0xFC if neg else 0x7C
        elif kind != "none":
            overflow_code = nan
    a = abs(x)
    if math.isinf(a) or a >= beyond:
        return overflow_code
    cands = finite + [(maxcode + 1, beyond)]
    best = None
    for c, v in cands:
        d = abs(a - v)
        if best is None or d < best[1] or (d == best[1] and c % 2 == 0):
            best = (c, d)
    c = best[0]
    if c == maxcode + 1:
        return overflow_code
    if c == 0:
        return 0 if kind == "fnuz" else (signbit if neg else 0)
    return (signbit if neg else 0) | c


def e8m0(x, mode, saturate):
    # x: a positive normal float32. The power of two at or below, at or
    # above, or nearer (a tie, 1.5 times a power of two, going up).
    k = math.floor(math.log2(x))
    if 2.0**k > x:
        k -= 1
    if 2.0 ** (k + 1) <= x:
        k += 1
    if mode == "up" and x != 2.0**k:
        k += 1
    if mode == "nearest" and x >= 1.5 * 2.0**k:
        k += 1
    code = k + 127
    if code > 254:
        code = 254 if saturate else 255
    return code


def main():
    rnd = random.Random(20261206)
    out = []
    for fmt in FORMATS:
        e, m, bias, kind = FORMATS[fmt]
        n = 1 << (1 + e + m)
        values = []
        for c in range(n):
            v = decode(fmt, c)
            out.append(f"decode {fmt} {c:#04x} {f32bits(v):#010x}")
            values.append(v)
        pos = sorted({v for v in values if not math.isnan(v) and not math.isinf(v) and v >= 0})
        inputs = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-30, -1e-30, 1e30, -1e30]
        for a, b in zip(pos, pos[1:]):
            mid = (a + b) / 2
            inputs += [a, b, mid, float(np.nextafter(np.float32(mid), np.float32(0))),
                       float(np.nextafter(np.float32(mid), np.float32(np.inf)))]
        top = pos[-1]
        step = 2.0 ** (math.floor(math.log2(top)) - m)
        inputs += [top + step / 2, top + step / 4, top + step, top * 1.01, top * 4]
        for _ in range(300):
            inputs.append(rnd.uniform(-1, 1) * 2.0 ** rnd.uniform(-2 * bias - 4, math.log2(top) + 2))
        for x in inputs:
            for s in (x, -x):
                s32 = float(np.float32(s))
                for sat in (1, 0):
                    out.append(f"encode {fmt} {sat} {f32bits(s32):#010x} {encode(fmt, s32, sat):#04x}")
    for _ in range(400):
        x = float(np.float32(2.0 ** rnd.uniform(-126, 128)))
        if math.isinf(x):
            continue
        for mode in ("up", "down", "nearest"):
            for sat in (1, 0):
                out.append(f"e8m0 {mode} {sat} {f32bits(x):#010x} {e8m0(x, mode, sat):#04x}")
    for k in (-126, -1, 0, 1, 5, 127):
        for frac in (1.0, 1.25, 1.5, 1.75, float(np.nextafter(np.float32(1.5), np.float32(2)))):
            x = float(np.float32(frac * 2.0**k))
            if math.isinf(x):
                continue
            for mode in ("up", "down", "nearest"):
                for sat in (1, 0):
                    out.append(f"e8m0 {mode} {sat} {f32bits(x):#010x} {e8m0(x, mode, sat):#04x}")
    with open("smallfloat.txt", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
