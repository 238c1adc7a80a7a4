#pragma once
// The store-backed source of older changes for resuming streams: the hub's
// HubOptions::fetch_older, answered from the live samples the store keeps
// with their event ids.
//
// Threading: read() blocks on the store; call it from the reader pool, never
// from an I/O thread. It may run on several threads at once.
#include "core/replay.h"

namespace tagstream {

class Store;
class StoreWriter;

class StoreReplay {
 public:
  /// `shared`: the store is a cluster's history, written by every node.
  /// This node's writer then cannot tell what is committed; a resume reads
  /// up to the requested id (below the hub's ring: read back from the log,
  /// and so appended, long before).
  StoreReplay(Store& store, const StoreWriter& writer, bool shared = false)
      : store_(store), writer_(writer), shared_(shared) {}

  /// The changes in (after, upto] of the request's tags, at most `limit`
  /// points; for an aggregated interval one point per bucket, carrying the
  /// bucket's state now. Not ok when retention removed part of that range
  /// or the read failed: the stream then gets history_lost.
  ReplayResult read(const ReplayRequest& request) const;

 private:
  Store& store_;
  const StoreWriter& writer_;
  const bool shared_;
};

}  // namespace tagstream
