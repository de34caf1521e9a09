// Witness call client (protocol v1, docs/signaling.md). Plain JS, no build.
// Two RTCPeerConnections: "pub" (this page offers, sends camera/mic) and
// "sub" (the server offers, this page receives everyone else).
"use strict";
class WitnessCall {
  constructor(opts) {
    this.opts = opts; // {token, wsURL, onTrack, onEvent, log}
    this.seq = 0; this.pending = new Map(); this.session = null;
    this.pub = null; this.sub = null; this.closed = false;
    this.stats = null; this.remote = new Map();
  }
  log(...a) { (this.opts.log || console.log)(...a); }
  send(type, data) {
    const id = "c" + (++this.seq);
    const msg = {v: 1, type, id};
    if (data !== undefined) msg.data = data;
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
    return new Promise((res, rej) => this.pending.set(id, {res, rej}));
  }
  async connect(stream) {
    this.stream = stream;
    await this.openWS(false);
  }
  openWS(resume) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.opts.wsURL);
      this.ws = ws;
      ws.onopen = async () => {
        try {
          const j = await this.send("join", resume ? {token: this.opts.token, resume: this.session} : {token: this.opts.token});
          this.session = j.session; this.me = j.participant; this.joined = j;
          this.emit("joined", j);
          if (!resume) await this.startPublishing();
          else if (this.pub && this.pub.iceConnectionState !== "connected" && this.pub.iceConnectionState !== "completed") await this.restartPub();
          resolve(j);
        } catch (e) { reject(e); }
      };
      ws.onmessage = (ev) => this.onMessage(JSON.parse(ev.data));
      ws.onclose = () => {
        if (this.closed) return;
        this.emit("signaling_lost", {});
        setTimeout(() => this.reconnectWS(), 500);
      };
    });
  }
  async reconnectWS() {
    for (let i = 0; i < 30 && !this.closed; i++) {
      try { await this.openWS(true); this.emit("resumed", {}); return; }
      catch (e) { await new Promise(r => setTimeout(r, 500)); }
    }
  }
  emit(type, data) { if (this.opts.onEvent) this.opts.onEvent(type, data); }
  pcConfig() { return {iceServers: (this.joined && this.joined.ice_servers || []).map(u => ({urls: u}))}; }
  async startPublishing() {
    this.sub = new RTCPeerConnection(this.pcConfig());
    this.sub.onicecandidate = (e) => e.candidate && this.send("candidate", {target: "sub", candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex});
    this.sub.ontrack = (e) => { if (this.opts.onTrack) this.opts.onTrack(e.track, e.streams[0]); };
    this.pub = new RTCPeerConnection(this.pcConfig());
    this.pub.onicecandidate = (e) => e.candidate && this.send("candidate", {target: "pub", candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex});
    this.pub.oniceconnectionstatechange = () => {
      const s = this.pub.iceConnectionState;
      this.emit("ice", {pc: "pub", state: s});
      if (s === "failed" || s === "disconnected") this.scheduleRestart();
    };
    if (this.stream) {
      const tracks = this.stream.getTracks().map(t => ({track_id: t.id, source: t.kind === "audio" ? "microphone" : "camera"}));
      await this.send("publish", {tracks});
      for (const t of this.stream.getTracks()) this.pub.addTrack(t, this.stream);
      const offer = await this.pub.createOffer();
      await this.pub.setLocalDescription(offer);
      const ans = await this.send("offer", {sdp: offer.sdp});
      await this.pub.setRemoteDescription({type: "answer", sdp: ans.sdp});
      await this.flushEarly(this.pub);
    }
  }
  async flushEarly(pc) {
    const early = pc._early || []; pc._early = [];
    for (const c of early) try { await pc.addIceCandidate(c); } catch (e) {}
  }
  scheduleRestart() {
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(async () => {
      this.restartTimer = null;
      const s = this.pub.iceConnectionState;
      if (s === "failed" || s === "disconnected") { try { await this.restartPub(); } catch (e) { this.log("restart", e); } }
    }, 1000);
  }
  async restartPub() {
    const offer = await this.pub.createOffer({iceRestart: true});
    await this.pub.setLocalDescription(offer);
    const ans = await this.send("offer", {sdp: offer.sdp});
    await this.pub.setRemoteDescription({type: "answer", sdp: ans.sdp});
    await this.send("ice_restart");
  }
  async onMessage(m) {
    if (m.ref && this.pending.has(m.ref)) {
      const p = this.pending.get(m.ref); this.pending.delete(m.ref);
      if (m.type === "error") p.rej(new Error(m.data.code + ": " + m.data.message)); else p.res(m.data || {});
      if (m.type !== "offer" && m.type !== "answer") { if (m.type === "joined" || m.type === "ok" || m.type === "error" || m.type === "file") return; }
    }
    switch (m.type) {
      case "offer": {
        await this.sub.setRemoteDescription({type: "offer", sdp: m.data.sdp});
        await this.flushEarly(this.sub);
        const ans = await this.sub.createAnswer();
        await this.sub.setLocalDescription(ans);
        this.send("answer", {sdp: ans.sdp});
        break;
      }
      case "candidate": {
        const pc = m.data.target === "pub" ? this.pub : this.sub;
        const c = {candidate: m.data.candidate, sdpMid: m.data.sdpMid, sdpMLineIndex: m.data.sdpMLineIndex};
        // Candidates can overtake the description they belong to: hold them.
        if (pc && !pc.remoteDescription) { (pc._early = pc._early || []).push(c); break; }
        if (pc) try { await pc.addIceCandidate(c); } catch (e) {}
        break;
      }
      case "stats": this.stats = m.data; this.emit("stats", m.data); break;
      case "video_request": {
        const v = this.stream && this.stream.getVideoTracks()[0];
        if (v) try { await v.applyConstraints({height: m.data.height, frameRate: m.data.fps}); } catch (e) {}
        this.emit("video_request", m.data); break;
      }
      case "kicked": this.closed = true; this.emit("kicked", m.data); this.close(); break;
      default: this.emit(m.type, m.data);
    }
  }
  mute(kind, muted) {
    const ts = this.stream ? (kind === "audio" ? this.stream.getAudioTracks() : this.stream.getVideoTracks()) : [];
    ts.forEach(t => t.enabled = !muted);
    return this.send("mute", {kind, muted});
  }
  chat(text, to) { return this.send("chat", to ? {text, to} : {text}); }
  recall(messageID) { return this.send("recall", {message_id: messageID}); }
  hold(on) { return this.send("hold", {on}); }
  record(action) { return this.send("record", {action}); }
  // renegotiate sends a new publisher offer after tracks were added or
  // removed mid-call (screen share).
  async renegotiate() {
    const offer = await this.pub.createOffer();
    await this.pub.setLocalDescription(offer);
    const ans = await this.send("offer", {sdp: offer.sdp});
    await this.pub.setRemoteDescription({type: "answer", sdp: ans.sdp});
  }
  // publishTrack adds a track to the call (source screen for a screen
  // share); returns its RTCRtpSender for unpublishTrack.
  async publishTrack(track, source, stream) {
    await this.send("publish", {tracks: [{track_id: track.id, source}]});
    const sender = this.pub.addTrack(track, stream || new MediaStream([track]));
    await this.renegotiate();
    return sender;
  }
  async unpublishTrack(sender) {
    const id = sender.track && sender.track.id;
    this.pub.removeTrack(sender);
    if (id) { try { await this.send("unpublish", {track_id: id}); } catch (e) { this.log("unpublish", e); } }
    await this.renegotiate();
  }
  // replaceTrack swaps the published camera or microphone for another
  // device's track (front/back camera) without renegotiation; the
  // server keeps the same track.
  async replaceTrack(kind, track) {
    const s = this.pub && this.pub.getSenders().find(x => x.track && x.track.kind === kind);
    if (!s) throw new Error("no " + kind + " track published");
    const old = s.track;
    await s.replaceTrack(track);
    if (this.stream) { this.stream.removeTrack(old); this.stream.addTrack(track); }
    track.enabled = old.enabled;
    old.stop();
  }
  // sendFile uploads a File/Blob through the signaling socket (file_offer,
  // then file_chunk of 48 KiB; the server checks type rules and sha256)
  // and resolves with the finished FileInfo; the room gets a chat file
  // message. onProgress(received, size) after each chunk.
  async sendFile(file, to, onProgress) {
    const buf = new Uint8Array(await file.arrayBuffer());
    const sum = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), b => b.toString(16).padStart(2, "0")).join("");
    const offer = {name: file.name, mime: file.type || "application/octet-stream", size: buf.length, sha256: sum};
    if (to) offer.to = to;
    const fi = await this.send("file_offer", offer);
    let last = fi;
    for (let off = fi.received || 0; off < buf.length;) {
      const part = buf.subarray(off, Math.min(off + 48 * 1024, buf.length));
      let bin = "";
      for (let i = 0; i < part.length; i += 0x8000) bin += String.fromCharCode.apply(null, part.subarray(i, i + 0x8000));
      last = await this.send("file_chunk", {file_id: fi.id, offset: off, data: btoa(bin)});
      off += part.length;
      if (onProgress) onProgress(off, buf.length);
    }
    return last;
  }
  close() { this.closed = true; try { this.send("leave"); } catch (e) {} if (this.pub) this.pub.close(); if (this.sub) this.sub.close(); if (this.ws) this.ws.close(); }
}
window.WitnessCall = WitnessCall;

// Shared page wiring for agent.html / customer.html.
async function witnessPage(role) {
  const q = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
  const token = q.get("token");
  const status = document.getElementById("status");
  const log = (...a) => { const d = document.getElementById("log"); d.textContent = a.join(" ") + "\n" + d.textContent.slice(0, 4000); };
  window.witnessState = {role, remoteTracks: 0, remoteVideoPlaying: false, joined: false, stats: null, events: [], errors: [], alerts: [], beeps: 0};
  // Live risk alerts (agents and supervisors): newest first, a short tone
  // when an episode opens (higher for critical), none for its end.
  let audioCtx = null;
  const beep = (critical) => {
    try {
      audioCtx = audioCtx || new AudioContext();
      const o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = critical ? 1320 : 880; g.gain.value = 0.15;
      o.connect(g).connect(audioCtx.destination); o.start(); o.stop(audioCtx.currentTime + (critical ? 0.45 : 0.2));
      window.witnessState.beeps++;
    } catch (e) { window.witnessState.errors.push("alert sound: " + e.message); }
  };
  const showAlert = (a) => {
    window.witnessState.alerts.push(a);
    const list = document.getElementById("alert-list");
    if (!list) return;
    const end = a.kind.endsWith(".end");
    const li = document.createElement("li");
    li.className = (a.severity || "info") + (end ? " end" : "");
    const at = new Date(a.onset || a.wall_time).toLocaleTimeString();
    li.textContent = at + "  " + a.kind + "  [" + (a.severity || "info") + "]  " + (a.identity || a.participant || "");
    list.prepend(li);
    document.getElementById("alert-count").textContent = String(window.witnessState.alerts.length);
    if (!end) beep(a.severity === "critical");
  };
  if (!token) { status.textContent = "no token in URL (#token=...)"; return; }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  let stream = null;
  // rawaudio=1 turns off echo cancellation, noise suppression and gain
  // control (tests with a tone; rooms without loudspeaker echo).
  const raw = q.get("rawaudio") === "1";
  const audio = raw ? {echoCancellation: false, noiseSuppression: false, autoGainControl: false} : true;
  try { stream = await navigator.mediaDevices.getUserMedia({audio, video: {width: 320, height: 240}}); }
  catch (e) { log("getUserMedia failed:", e.message); window.witnessState.errors.push(e.message); }
  if (stream) document.getElementById("local").srcObject = stream;
  const remote = document.getElementById("remote");
  // The WebSocket is next to the page, so the server also works mounted
  // under a path prefix (witness serve: /rtc/).
  const ws = new URL("ws", location.href);
  const call = new WitnessCall({token, wsURL: proto + "//" + ws.host + ws.pathname, log,
    onTrack: (track, s) => {
      window.witnessState.remoteTracks++;
      if (track.kind === "video") { remote.srcObject = s; remote.play().catch(() => {}); }
      else if (!remote.srcObject) remote.srcObject = s;
    },
    onEvent: (type, data) => {
      window.witnessState.events.push(type);
      if (type === "stats") { window.witnessState.stats = data; document.getElementById("stats").textContent = JSON.stringify(data, null, 1).slice(0, 2000); }
      else if (type === "alert") showAlert(data);
      else if (type === "chat") log("chat from", data.from, ":", data.text || data.url || (data.file && data.file.name));
      else log(type, JSON.stringify(data || {}).slice(0, 200));
    }});
  window.witnessCall = call;
  remote.addEventListener("playing", () => window.witnessState.remoteVideoPlaying = true);
  try { await call.connect(stream); window.witnessState.joined = true; status.textContent = "in call as " + role; }
  catch (e) { status.textContent = "join failed: " + e.message; window.witnessState.errors.push(e.message); }
  for (const [id, kind, muted] of [["mute-audio", "audio", true], ["unmute-audio", "audio", false], ["camera-off", "video", true], ["camera-on", "video", false]]) {
    const b = document.getElementById(id); if (b) b.onclick = () => call.mute(kind, muted);
  }
  const form = document.getElementById("chat");
  if (form) form.onsubmit = (e) => { e.preventDefault(); const t = form.querySelector("input"); if (t.value) call.chat(t.value); t.value = ""; };
}
window.witnessPage = witnessPage;
