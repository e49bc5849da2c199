// The ward's meeting page (role web_meeting): sign in, pick a room, join with camera,
// microphone and screen sharing. Media goes to Janus's VideoRoom (DTLS-SRTP); every request goes
// through /api/janus, which adds what only the server knows (room PIN, token, display name).
// Janus's JavaScript library and the WebRTC adapter are Debian's (libjs-janus-gateway,
// libjs-webrtc-adapter). window.twMeeting gives tests the state and the WebRTC statistics.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { user: null, name: null, room: null, joined: false, feeds: {}, error: null, chat: [] };
let janus = null;
let publisher = null;
let myId = null;
let myPrivateId = null;
let iceServers = [];
const subscribers = {}; // feed id -> plugin handle

function show(view) {
  for (const v of ["signin-view", "rooms-view", "room-view"]) $(v).hidden = v !== view;
}

function status(text) {
  $("room-status").textContent = text;
}

async function api(path, body) {
  const options = body === undefined ? {} : { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  const response = await fetch(path, { credentials: "same-origin", ...options });
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
}

async function loadMe() {
  const me = await api("/api/me");
  if (!me.ok) {
    show("signin-view");
    $("signout").hidden = true;
    $("who").textContent = "";
    return;
  }
  state.user = me.data.user;
  state.name = me.data.name;
  iceServers = me.data.iceServers;
  $("who").textContent = `${me.data.name}（${me.data.user}）`;
  $("signout").hidden = false;
  const list = $("rooms");
  list.replaceChildren();
  for (const room of me.data.rooms) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.textContent = room.title;
    button.dataset.room = room.name;
    button.addEventListener("click", () => join(room));
    item.append(button);
    list.append(item);
  }
  show("rooms-view");
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").hidden = true;
  const result = await api("/api/signin", { user: $("user").value, password: $("password").value });
  $("password").value = "";
  if (!result.ok) {
    $("signin-error").hidden = false;
    return;
  }
  await loadMe();
});

$("signout").addEventListener("click", async () => {
  leave();
  await api("/api/signout", {});
  await loadMe();
});

function tile(feed, display) {
  let figure = $(`feed-${feed}`);
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile";
    figure.id = `feed-${feed}`;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    caption.textContent = display;
    figure.append(video, caption);
    $("videos").append(figure);
  }
  return figure;
}

function addChat(from, text) {
  state.chat.push({ from, text });
  const item = document.createElement("li");
  item.textContent = `${from}: ${text}`;
  $("chat-log").append(item);
}

function subscribe(feed, display) {
  if (subscribers[feed] || feed === myId) return;
  state.feeds[feed] = display;
  janus.attach({
    plugin: "janus.plugin.videoroom",
    success: (handle) => {
      subscribers[feed] = handle;
      handle.tw = { display, stream: new MediaStream() };
      handle.send({ message: { request: "join", room: state.room.id, ptype: "subscriber", streams: [{ feed }], private_id: myPrivateId } });
    },
    error: (error) => { state.error = String(error); },
    onmessage: (msg, jsep) => {
      const handle = subscribers[feed];
      if (!jsep || !handle) return;
      handle.createAnswer({
        jsep,
        tracks: [{ type: "data" }],
        success: (answer) => handle.send({ message: { request: "start", room: state.room.id }, jsep: answer }),
        error: (error) => { state.error = String(error); },
      });
    },
    onremotetrack: (track, mid, on) => {
      const handle = subscribers[feed];
      if (!handle) return;
      const figure = tile(feed, display);
      if (on) handle.tw.stream.addTrack(track);
      else handle.tw.stream.removeTrack(track);
      figure.querySelector("video").srcObject = handle.tw.stream;
    },
    ondata: (data) => {
      try {
        const message = JSON.parse(data);
        addChat(display, String(message.text));
      } catch (_) { /* not a chat message */ }
    },
    oncleanup: () => {
      const figure = $(`feed-${feed}`);
      if (figure) figure.remove();
      delete subscribers[feed];
      delete state.feeds[feed];
    },
  });
}

function unsubscribe(feed) {
  const handle = subscribers[feed];
  if (handle) handle.detach();
}

function publish() {
  const relay = params.get("relay") === "1";
  status(relay ? "接続中（中継サーバー経由）…" : "接続中…");
  publisher.createOffer({
    tracks: [
      { type: "audio", capture: true, recv: false },
      { type: "video", capture: true, recv: false },
      { type: "data" },
    ],
    success: (jsep) => publisher.send({ message: { request: "configure", audio: true, video: true, data: true }, jsep }),
    error: (error) => {
      state.error = String(error);
      status("カメラまたはマイクを使えません。ブラウザーの許可を確かめてください。");
    },
  });
}

function onPublisherMessage(msg, jsep) {
  const event = msg.videoroom;
  if (event === "joined") {
    myId = msg.id;
    myPrivateId = msg.private_id;
    state.joined = true;
    status("参加しました。");
    publish();
  } else if (msg.error) {
    state.error = msg.error;
    status(msg.error_code === 403 || msg.error_code === 433 ? "この会議室には入れません。" : `エラー: ${msg.error}`);
  }
  for (const p of msg.publishers || []) subscribe(p.id, p.display);
  if (msg.leaving) unsubscribe(msg.leaving);
  if (msg.unpublished && msg.unpublished !== "ok") unsubscribe(msg.unpublished);
  if (jsep) publisher.handleRemoteJsep({ jsep });
}

function join(room) {
  state.room = room;
  state.error = null;
  $("room-title").textContent = room.title;
  show("room-view");
  status("会議サーバーに接続しています…");
  const server = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/janus`;
  janus = new Janus({
    server,
    iceServers,
    iceTransportPolicy: params.get("relay") === "1" ? "relay" : "all",
    success: () => {
      janus.attach({
        plugin: "janus.plugin.videoroom",
        success: (handle) => {
          publisher = handle;
          handle.send({ message: { request: "join", room: room.id, ptype: "publisher" } });
        },
        error: (error) => { state.error = String(error); },
        onmessage: onPublisherMessage,
        onlocaltrack: (track, on) => {
          if (!on || track.kind !== "video") return;
          $("local").srcObject = new MediaStream([track]);
        },
        onerror: (error) => { state.error = String(error); },
        webrtcState: (up) => status(up ? "参加しています。" : "映像・音声の接続が切れました。"),
      });
    },
    error: (error) => {
      state.error = String(error);
      state.joined = false;
      status("会議サーバーとの接続が切れました。");
    },
    destroyed: () => { state.joined = false; },
  });
}

function leave() {
  if (janus) janus.destroy();
  janus = null;
  publisher = null;
  state.joined = false;
  state.room = null;
  for (const feed of Object.keys(subscribers)) delete subscribers[feed];
  state.feeds = {};
  for (const figure of document.querySelectorAll("#videos .tile:not(:first-child)")) figure.remove();
}

$("leave").addEventListener("click", async () => {
  leave();
  await loadMe();
});

$("mic").addEventListener("click", () => {
  if (!publisher) return;
  if (publisher.isAudioMuted()) { publisher.unmuteAudio(); $("mic").textContent = "マイクを切る"; }
  else { publisher.muteAudio(); $("mic").textContent = "マイクを入れる"; }
});

$("camera").addEventListener("click", () => {
  if (!publisher) return;
  if (publisher.isVideoMuted()) { publisher.unmuteVideo(); $("camera").textContent = "カメラを切る"; }
  else { publisher.muteVideo(); $("camera").textContent = "カメラを入れる"; }
});

let sharing = false;
$("screen").addEventListener("click", () => {
  if (!publisher) return;
  const video = publisher.webrtcStuff.pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === "video");
  const mid = video ? video.mid : undefined;
  publisher.replaceTracks({
    tracks: [sharing ? { type: "video", mid, capture: true } : { type: "screen", mid, capture: true }],
    success: () => {
      sharing = !sharing;
      $("screen").textContent = sharing ? "画面共有をやめる" : "画面を共有";
    },
    error: (error) => status(`画面を共有できません: ${error}`),
  });
});

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-text").value.trim();
  if (!text || !publisher) return;
  publisher.data({ text: JSON.stringify({ text }), error: (error) => status(`送信できません: ${error}`) });
  addChat(state.name, text);
  $("chat-text").value = "";
});

// For the tests and for support staff: what the page is doing, and what arrives.
window.twMeeting = {
  state: () => JSON.parse(JSON.stringify(state)),
  stats: async () => {
    const totals = { video: { packetsReceived: 0, framesDecoded: 0, bytesReceived: 0 }, audio: { packetsReceived: 0, bytesReceived: 0 }, feeds: 0, relay: false };
    for (const handle of Object.values(subscribers)) {
      const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
      if (!pc) continue;
      totals.feeds += 1;
      const report = await pc.getStats();
      const byId = {};
      report.forEach((s) => { byId[s.id] = s; });
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && totals[s.kind]) {
          totals[s.kind].packetsReceived += s.packetsReceived || 0;
          totals[s.kind].bytesReceived += s.bytesReceived || 0;
          if (s.kind === "video") totals.video.framesDecoded += s.framesDecoded || 0;
        }
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
          const local = byId[s.localCandidateId];
          if (local && local.candidateType === "relay") totals.relay = true;
        }
      });
    }
    return totals;
  },
};

Janus.init({ debug: false, callback: loadMe });
