#pragma once
// The streaming-benchmark subcommands of tagstream-bench (see sse_load.cc and
// poll_load.cc); tagstream_bench.cc dispatches to them.
#include "bench_args.h"

namespace tagstream_bench {

int run_sse(Args& args);
int run_poll(Args& args);
void sse_usage();
void poll_usage();

}  // namespace tagstream_bench
