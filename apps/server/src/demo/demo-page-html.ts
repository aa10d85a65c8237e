/**
 * The demo page: one static HTML document whose module script loads the SDK
 * bundle from /demo/realtime-client.js and talks to the node that served it.
 * Everything a member writes is shown with textContent, never as HTML.
 */
export const DEMO_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>realtime-cluster demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { opacity: .8; font-size: 13px; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; display: flex; justify-content: space-between; }
  .count { font-variant-numeric: tabular-nums; background: #e7f0ff; color: #1a4fb5; border-radius: 10px; padding: 0 8px; }
  form { display: flex; gap: 6px; margin: 6px 0; }
  input { flex: 1; padding: 5px 8px; border: 1px solid #c8ccd4; border-radius: 4px; }
  button { padding: 5px 10px; border: 0; border-radius: 4px; background: #1a4fb5; color: #fff; cursor: pointer; }
  button:disabled { background: #9aa3b5; cursor: default; }
  ul { list-style: none; padding: 0; margin: 6px 0 0; max-height: 260px; overflow-y: auto; font-size: 14px; }
  li { padding: 3px 0; border-bottom: 1px solid #eef0f3; }
  li.event { color: #667085; font-style: italic; }
  li b { margin-right: 6px; }
</style>
</head>
<body>
<header><h1>realtime-cluster demo</h1><span id="status">connecting…</span></header>
<main>
  <section>
    <h2>Channel <span class="count" id="channel-count" title="online users">–</span></h2>
    <form id="join-channel"><input id="channel" value="lobby" aria-label="channel id"><button>Join</button></form>
    <form id="send-channel"><input id="message" placeholder="Say something" aria-label="message"><button disabled>Send</button></form>
    <ul id="channel-log"></ul>
  </section>
  <section>
    <h2>Room <span class="count" id="room-count" title="online users">–</span></h2>
    <form id="join-room"><input id="room" value="r1" aria-label="room id"><button disabled>Join room</button></form>
    <form id="send-room"><input id="room-message" placeholder="To the room only" aria-label="room message"><button disabled>Notify</button></form>
    <ul id="room-log"></ul>
  </section>
</main>
<script type="module">
  import { createRealtimeClient } from '/demo/realtime-client.js';
  const $ = (id) => document.getElementById(id);
  const name = new URLSearchParams(location.search).get('name') || 'guest-' + Math.random().toString(36).slice(2, 6);
  const rt = createRealtimeClient(location.origin, { source: { userName: name, platform: 'web', appName: 'demo' } });
  const who = (e) => (e.source && e.source.userName) || e.clientId;
  function line(list, text, author, event) {
    const li = document.createElement('li');
    if (event) li.className = 'event';
    if (author) { const b = document.createElement('b'); b.textContent = author; li.append(b); }
    li.append(document.createTextNode(text));
    $(list).prepend(li);
  }
  function watch(handle, list, countId) {
    $(countId).textContent = String(handle.onlineUsers ?? '–');
    handle.on('message', (e) => line(list, e.data.message, who(e)));
    handle.on('join', (e) => line(list, who(e) + ' joined', '', true));
    handle.on('leave', (e) => line(list, who(e) + ' left', '', true));
    handle.on('online-users', (n) => ($(countId).textContent = String(n)));
  }
  rt.on('connect', () => ($('status').textContent = 'connected as ' + name + ' (' + rt.id + ')'));
  rt.on('disconnect', () => ($('status').textContent = 'reconnecting…'));
  rt.on('rejoin', () => line('channel-log', 'reconnected and rejoined', '', true));
  let channel, room;
  $('join-channel').onsubmit = async (event) => {
    event.preventDefault();
    try {
      if (room) { await room.leave(); room = undefined; }
      if (channel) await channel.leave();
      channel = await rt.joinChannel($('channel').value.trim());
      watch(channel, 'channel-log', 'channel-count');
      document.querySelectorAll('#send-channel button, #join-room button').forEach((b) => (b.disabled = false));
    } catch (err) { line('channel-log', err.code + ': ' + err.message, '', true); }
  };
  $('send-channel').onsubmit = async (event) => {
    event.preventDefault();
    try { await channel.send($('message').value); $('message').value = ''; }
    catch (err) { line('channel-log', err.code + ': ' + err.message, '', true); }
  };
  $('join-room').onsubmit = async (event) => {
    event.preventDefault();
    try {
      if (room) await room.leave();
      room = await channel.joinRoom($('room').value.trim());
      watch(room, 'room-log', 'room-count');
      $('send-room').querySelector('button').disabled = false;
    } catch (err) { line('room-log', err.code + ': ' + err.message, '', true); }
  };
  $('send-room').onsubmit = async (event) => {
    event.preventDefault();
    try { await room.notify($('room-message').value); $('room-message').value = ''; }
    catch (err) { line('room-log', err.code + ': ' + err.message, '', true); }
  };
  window.demo = { rt };
</script>
</body>
</html>
`;
