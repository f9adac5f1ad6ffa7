// The real-time audio edge of libdialtone (core/src/ffi/audio_edge.rs): for the app's audio
// thread, beside the UniFFI functions. Neither function allocates, locks or makes a system
// call. `handle` comes from DialtoneClient.audioHandle(); once that client is gone, pull
// yields silence and push takes nothing. PCM is 48 kHz mono, 16-bit, native endianness.
#ifndef DIALTONE_AUDIO_H
#define DIALTONE_AUDIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Copies `frames` captured samples from `pcm` into the client's capture ring; returns how
/// many it took (0 for a gone client, a null buffer or a negative count).
int32_t dialtone_audio_push(uint64_t handle, const int16_t *pcm, int32_t frames);

/// Fills `frames` samples at `pcm` with what there is to play, silence where nothing
/// arrived; returns `frames` (0 for a null buffer or a negative count).
int32_t dialtone_audio_pull(uint64_t handle, int16_t *pcm, int32_t frames);

#ifdef __cplusplus
}
#endif

#endif
