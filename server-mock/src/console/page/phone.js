// The console's browser phone: the browser as a Dialtone client of this mock, written from
// BACKEND.md §4 (v3 signaling, WebRTC) and docs/extended-profile.md (register, the /ws event
// channel, call actions) — a third implementation of the protocol beside the core's and the
// mock's, sharing no code with either. It needs the extended profile (calls ring on /ws).
// State is exposed as window.dialtonePhone for tests and the curious.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  const uniqueId = crypto.randomUUID();
  const phone = {
    clientId: null,
    secret: null,
    status: "not registered",
    call: null, // { id, direction: "in" | "out", peer, answered }
    muted: false,
    levels: { local: 0, remote: 0 },
    remoteToneHz: null,
  };
  window.dialtonePhone = phone;
  let events = null;
  let media = null; // { ws, pub, sub, mic, rpc, timers, audio }

  function setStatus(text) {
    phone.status = text;
    $("phone-status").textContent = text;
    const inCall = !!phone.call;
    $("phone-call").disabled = !phone.clientId || inCall;
    $("phone-answer").hidden = !(phone.call && phone.call.direction === "in" && !phone.call.answered);
    $("phone-decline").hidden = $("phone-answer").hidden;
    $("phone-hangup").hidden = !inCall || !$("phone-answer").hidden;
    $("phone-mute").hidden = !media;
  }

  function fail(what, e) {
    const text = what + ": " + (e && e.message ? e.message : String(e));
    $("phone-error").textContent = text;
    return text;
  }

  // --- REST (the backend's /api), with the phone's Bearer secret once it has one ----------
  async function rest(body, withSecret = true) {
    const headers = { "content-type": "application/json" };
    if (withSecret && phone.secret) headers.authorization = "Bearer " + phone.secret;
    const r = await fetch("/api", { method: "POST", headers, body: JSON.stringify(body) });
    const v = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.action + " failed (" + r.status + "): " + (v.message || v.error || JSON.stringify(v)));
    return v;
  }

  async function register(first, last) {
    const r = await rest({ action: "register", notifyType: "GCM", deviceToken: "browser-" + uniqueId }, false);
    if (!r.clientSecret) throw new Error("this mock runs the seed profile: the browser phone needs --profile extended");
    phone.clientId = r.id;
    phone.secret = r.clientSecret;
    const p = await fetch("/mock/phone/person", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + phone.secret },
      body: JSON.stringify({ clientId: phone.clientId, firstName: first, lastName: last }),
    });
    if (!p.ok) throw new Error("creating the Person failed: " + (await p.text()));
    $("phone-id").textContent = phone.clientId;
    openEvents();
    setStatus("ready");
  }

  // --- the /ws event channel: ringing, answered, and how calls end -------------------------
  function openEvents() {
    const ws = new WebSocket(wsBase + "/ws");
    events = ws;
    let ping = null;
    ws.onopen = () => {
      ws.send(JSON.stringify({ action: "authorize", clientId: phone.clientId, clientSecret: phone.secret }));
      ping = setInterval(() => ws.send(JSON.stringify({ action: "ping" })), 20000);
    };
    ws.onmessage = (e) => onEvent(JSON.parse(e.data));
    ws.onclose = () => {
      clearInterval(ping);
      if (events === ws) setTimeout(openEvents, 1000);
    };
  }

  // Events about a call this page does not know yet: the /ws event for a call we place can
  // arrive before initiateCall's answer does (answered at once elsewhere, declined, …).
  const early = [];

  function onEvent(ev) {
    const call = phone.call;
    if (ev.callId && (!call || call.id !== ev.callId) && ev.type !== "ringing") {
      early.push(ev);
      if (early.length > 20) early.shift();
    }
    switch (ev.type) {
      case "ringing":
        if (ev.calleeId === phone.clientId && !call) {
          phone.call = { id: ev.callId, direction: "in", peer: ev.callerName, answered: false };
          setStatus("incoming call from " + ev.callerName);
        }
        break;
      case "answered":
        if (call && call.id === ev.callId && call.direction === "out") {
          call.answered = true;
          setStatus("answered; connecting media");
        } else if (call && call.id === ev.callId && ev.by !== phone.clientId) {
          endLocally("answered elsewhere");
        }
        break;
      case "declined": case "busy": case "cancelled": case "ended":
        if (call && call.id === ev.callId) endLocally(ev.type + (ev.by === phone.clientId ? " here" : " by the other side"));
        break;
      default:
        break;
    }
  }

  // --- call actions -------------------------------------------------------------------------
  async function place(calleeId) {
    const r = await rest({ action: "initiateCall", callerId: phone.clientId, calleeId });
    phone.call = { id: r.callId, direction: "out", peer: calleeId, answered: false };
    setStatus("calling");
    for (const ev of early.splice(0).filter((e) => e.callId === r.callId)) onEvent(ev);
    if (!phone.call) return;
    await join(r.token);
  }

  async function answer() {
    const call = phone.call;
    const r = await rest({ action: "answerCall", clientId: phone.clientId, callId: call.id });
    call.answered = true;
    setStatus("answered; connecting media");
    await join(r.token);
  }

  async function decline() {
    const call = phone.call;
    await rest({ action: "declineCall", clientId: phone.clientId, callId: call.id });
    endLocally("declined here");
  }

  async function hangUp() {
    const call = phone.call;
    if (!call) return;
    endLocally("hung up here");
    if (call.direction === "out" && !call.answered) {
      // Still ringing as far as we know; if it was answered meanwhile, end it instead.
      try {
        await rest({ action: "cancelCall", clientId: phone.clientId, callId: call.id });
        return;
      } catch (e) {
        /* ALREADY_ANSWERED: fall through to endCall */
      }
    }
    await rest({ action: "endCall", clientId: phone.clientId });
  }

  function endLocally(why) {
    phone.call = null;
    leaveMedia();
    setStatus("ready (last call: " + why + ")");
  }

  // --- v3 signaling (JSON-RPC 2.0 over WebSocket) and WebRTC -------------------------------
  function rpcOver(ws) {
    let next = 1;
    const pending = new Map();
    const handlers = new Map();
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(e.data);
      if (m.id != null && pending.has(m.id)) {
        const { resolve, reject } = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) reject(new Error(m.error.message)); else resolve(m.result);
      } else if (m.method && handlers.has(m.method)) {
        handlers.get(m.method)(m.params || {});
      }
    });
    return {
      call(method, params) {
        const id = next++;
        ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
        return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      },
      notify(method, params) {
        ws.send(JSON.stringify({ jsonrpc: "2.0", method, params }));
      },
      on(method, handler) {
        handlers.set(method, handler);
      },
    };
  }

  // No trickle: the candidates ride in the SDP, so wait for gathering to finish.
  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }

  async function join(token) {
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const ws = new WebSocket(wsBase + "/v3/?token=" + encodeURIComponent(token) +
      "&client=dialtone-console&sdkVersion=1&uniqueId=" + uniqueId);
    const rpc = rpcOver(ws);
    media = { ws, rpc, mic, pub: null, sub: null, timers: [], audio: null, revision: -1 };
    const m = media;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("the signaling socket did not open"));
    });
    ws.onclose = () => { if (media === m && phone.call) setStatus("signaling socket closed"); };
    // Subscribing: the server offers, we answer. Listening before anything is sent: an
    // offer may come as soon as the server knows our protocol, even right after our
    // first answer.
    m.sub = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    m.sub.ontrack = (e) => playRemote(e.streams[0] || new MediaStream([e.track]));
    rpc.on("sdpOffer", async (p) => {
      if (!(p.sdpRevision > m.revision)) return;
      m.revision = p.sdpRevision;
      try {
        await m.sub.setRemoteDescription({ type: "offer", sdp: p.sdpOffer });
        await m.sub.setLocalDescription(await m.sub.createAnswer());
        await gathered(m.sub);
        await rpc.call("answerSdp", { sdpAnswer: m.sub.localDescription.sdp });
      } catch (e) {
        fail("answering the server's offer", e);
      }
    });

    await rpc.call("setMediaPreferences", { protocol: "WEBRTC" });

    // Publishing: our microphone and the two negotiated data channels.
    m.pub = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    const heartbeat = m.pub.createDataChannel("__heartbeat__", { negotiated: true, id: 0 });
    heartbeat.onmessage = (e) => { if (e.data === "PING") heartbeat.send("PONG"); };
    m.pub.createDataChannel("__diagnostics__", { negotiated: true, id: 1 });
    m.pub.addTransceiver(mic.getAudioTracks()[0], { direction: "sendonly", streams: [mic] });
    m.pub.onconnectionstatechange = () => {
      if (m.pub.connectionState === "connected" && phone.call) {
        // Media flows only once the callee answered.
        phone.call.answered = true;
        setStatus("in call");
      }
    };
    await m.pub.setLocalDescription(await m.pub.createOffer());
    await gathered(m.pub);
    const answer = await rpc.call("offerSdp", {
      sdpOffer: m.pub.localDescription.sdp,
      mediaMetadata: { mediaStreams: { [mic.id]: { alias: "microphone" } } },
    });
    await m.pub.setRemoteDescription({ type: "answer", sdp: answer.sdpAnswer });
    m.timers.push(setInterval(() => rpc.call("ping", {}).catch(() => {}), 300000));
    meter(mic, "local");
  }

  function playRemote(stream) {
    if (!media) return;
    const audio = new Audio();
    audio.srcObject = stream;
    audio.autoplay = true;
    audio.play().catch(() => {});
    media.audio = audio;
    meter(stream, "remote");
  }

  // Levels and the loudest frequency, from WebAudio analysers.
  function meter(stream, which) {
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const db = new Float32Array(analyser.frequencyBinCount);
    const m = media;
    const timer = setInterval(() => {
      if (media !== m) { clearInterval(timer); ctx.close(); return; }
      analyser.getFloatFrequencyData(db);
      let best = 0;
      for (let i = 1; i < db.length; i++) if (db[i] > db[best]) best = i;
      const peak = db[best];
      phone.levels[which] = Math.max(0, Math.min(1, (peak + 100) / 70));
      if (which === "remote") phone.remoteToneHz = peak > -70 ? Math.round(best * ctx.sampleRate / analyser.fftSize) : null;
      $("phone-level-" + which).value = phone.levels[which];
    }, 100);
    m.timers.push(timer);
  }

  function leaveMedia() {
    const m = media;
    media = null;
    if (!m) return;
    try { m.rpc.notify("leave", {}); } catch (e) { /* the socket may be gone already */ }
    m.timers.forEach(clearInterval);
    m.ws.close();
    if (m.pub) m.pub.close();
    if (m.sub) m.sub.close();
    m.mic.getTracks().forEach((t) => t.stop());
    if (m.audio) m.audio.srcObject = null;
    phone.levels = { local: 0, remote: 0 };
    phone.remoteToneHz = null;
    phone.muted = false;
  }

  function toggleMute() {
    if (!media) return;
    phone.muted = !phone.muted;
    media.mic.getAudioTracks().forEach((t) => { t.enabled = !phone.muted; });
    $("phone-mute").textContent = phone.muted ? "Unmute" : "Mute";
  }

  // --- the page ------------------------------------------------------------------------------
  function run(what, f) {
    return async () => {
      $("phone-error").textContent = "";
      try { await f(); } catch (e) { fail(what, e); }
    };
  }

  $("phone-register").addEventListener("click", run("register", async () => {
    const [first, ...rest] = ($("phone-name").value.trim() || "Browser Phone").split(/\s+/);
    $("phone-register").disabled = true;
    await register(first, rest.join(" ") || "(browser)");
  }));
  $("phone-call").addEventListener("click", run("call", () => place($("phone-callee").value)));
  $("phone-answer").addEventListener("click", run("answer", answer));
  $("phone-decline").addEventListener("click", run("decline", decline));
  $("phone-hangup").addEventListener("click", run("hang up", hangUp));
  $("phone-mute").addEventListener("click", toggleMute);

  // The console's state feeds the callee menu: every other device with a live Person.
  window.addEventListener("dialtone-state", (e) => {
    const select = $("phone-callee");
    const current = select.value;
    const options = e.detail.devices
      .filter((d) => d.clientId !== phone.clientId)
      .map((d) => {
        const o = document.createElement("option");
        o.value = d.clientId;
        o.textContent = (d.name || "(no Person)") + " · " + d.clientId.slice(0, 8);
        return o;
      });
    select.replaceChildren(...options);
    if (options.some((o) => o.value === current)) select.value = current;
  });
  setStatus("not registered");
})();
