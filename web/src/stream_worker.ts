// The SharedWorker that holds the one stream for every tab of the dashboard
// (HTTP/1.1 allows six connections per origin: a seventh tab with its own
// stream would wait forever). The logic is StreamHub's (stream_hub.ts);
// each tab is a MessagePort here.
import { StreamHub } from './stream_hub';

const hub = new StreamHub();
let nextTab = 0;

(self as unknown as { onconnect: (e: MessageEvent) => void }).onconnect = (e: MessageEvent) => {
  const port = e.ports[0];
  const tab = String(nextTab++);
  port.onmessage = (ev) => hub.message(port, tab, ev.data);
  port.start();
};
