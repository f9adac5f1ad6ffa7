// Bundled by scripts/test-browser.sh (esbuild) into bw.js: Bandwidth's browser SDK as the
// global `BandwidthRtc`, for core/tests/interop/bandwidth.html.
import BandwidthRtc from "@bandwidth/webrtc-browser";
window.BandwidthRtc = BandwidthRtc;
