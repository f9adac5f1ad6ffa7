#!/usr/bin/env python3
"""Converts a 16-bit PCM WAV (any rate, mono or stereo) to the benchmark's input: 16-bit
mono 48 kHz, peak-normalised to -3 dBFS, with 0.5 s of silence before and after.

    to48k.py IN.wav OUT.wav
"""
import sys
import wave

import numpy as np


def main():
    with wave.open(sys.argv[1], "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{sys.argv[1]}: only 16-bit PCM WAV files are accepted")
        rate, channels = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    x = x.reshape(-1, channels).mean(axis=1)
    if rate != 48000:
        n = int(round(len(x) * 48000 / rate))
        spectrum = np.fft.rfft(x)
        x = np.fft.irfft(spectrum, n) * (n / len(x)) if n >= len(x) else np.fft.irfft(spectrum[: n // 2 + 1], n) * (n / len(x))
    peak = np.max(np.abs(x)) or 1.0
    x = x / peak * 32767 * 10 ** (-3 / 20)
    pad = np.zeros(24000)
    y = np.concatenate([pad, x, pad]).round().astype("<i2")
    with wave.open(sys.argv[2], "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(y.tobytes())


if __name__ == "__main__":
    main()
