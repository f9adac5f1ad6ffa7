// The real-time audio edge for the app's audio thread (a render block, a tap): captured PCM
// in and PCM to play out through two plain C functions of libdialtone
// (core/src/ffi/audio_edge.rs, DialtoneFFI's dialtone_audio.h), on the app's own buffers:
// nothing is allocated, locked or copied twice on the way, as Core Audio asks of a render
// block (pullPlaybackPcm allocates a Data per call).
#if canImport(DialtoneFFI)
import DialtoneFFI
#endif

/// One client's audio edge: 48 kHz mono 16-bit PCM, native byte order. A value type holding
/// the client's handle, safe to capture in a render block; once its client is gone, `pull`
/// yields silence and `push` takes nothing.
public struct AudioEdge: Sendable, Equatable {
    public let handle: UInt64

    /// Copies `pcm` to the call; returns how many samples it took.
    @inline(__always)
    public func push(_ pcm: UnsafeBufferPointer<Int16>) -> Int {
        guard let base = pcm.baseAddress, pcm.count <= Int(Int32.max) else { return 0 }
        return Int(dialtone_audio_push(handle, base, Int32(pcm.count)))
    }

    /// Fills `pcm` with what there is to play (silence where nothing arrived); returns how
    /// many samples it wrote.
    @inline(__always)
    public func pull(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let base = pcm.baseAddress, pcm.count <= Int(Int32.max) else { return 0 }
        return Int(dialtone_audio_pull(handle, base, Int32(pcm.count)))
    }
}

extension DialtoneClient {
    /// This client's audio edge (the same handle each time).
    public func audioEdge() throws -> AudioEdge {
        AudioEdge(handle: try audioHandle())
    }
}
