// Preloaded (node -r) into every process npm run bench starts, which it starts with an IPC
// channel: if the bench dies without stopping it (SIGKILL, a crash), the channel closes and the
// child goes too, instead of holding its port and a core.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
process.channel?.unref();
