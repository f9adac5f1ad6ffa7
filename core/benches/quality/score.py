#!/usr/bin/env python3
"""Scores one run of the speech benchmark (core/benches/call_quality.rs).

    score.py REFERENCE.wav RECORDED.wav

Both are 16-bit mono 48 kHz. Finds where the reference starts in the recording by
cross-correlation (FFT), cuts the recording to the reference's length from there, resamples
both to 16 kHz (an ideal low-pass in the frequency domain) and scores them with wideband
PESQ (ITU-T P.862.2, the `pesq` package). Prints one JSON object:
{"lag_samples": N, "pesq": X or null, "error": "..."}.
"""
import json
import sys
import wave

import numpy as np
from pesq import pesq


def read(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != 48000:
            raise SystemExit(f"{path}: expected 16-bit mono 48 kHz")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def lag_of(ref, rec):
    n = 1
    while n < len(ref) + len(rec):
        n *= 2
    corr = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    return int(np.argmax(corr[: len(rec)]))


def to_16k(x):
    spectrum = np.fft.rfft(x)
    n = len(x) // 3
    return np.fft.irfft(spectrum[: n // 2 + 1], n) / 3.0


def main():
    ref, rec = read(sys.argv[1]), read(sys.argv[2])
    lag = lag_of(ref, rec)
    deg = rec[lag : lag + len(ref)]
    if len(deg) < len(ref):
        deg = np.concatenate([deg, np.zeros(len(ref) - len(deg))])
    out = {"lag_samples": lag, "pesq": None}
    try:
        out["pesq"] = round(float(pesq(16000, to_16k(ref), to_16k(deg), "wb")), 3)
    except Exception as e:  # silence, or no utterance found: the run scores nothing
        out["error"] = str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
