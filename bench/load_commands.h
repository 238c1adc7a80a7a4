#pragma once
// The subcommands of tagstream-bench, one load generator each (ingest_load.cc,
// history_load.cc, sse_load.cc, poll_load.cc, opens_load.cc); tagstream_bench.cc dispatches
// to them (and to sign_tokens.cc, which signs JWTs for opens).
#include "bench_args.h"

namespace tagstream_bench {

// The longest run of ingest, history and sse, whatever their options say.
inline constexpr double kMaxRunSeconds = 3600;

int run_ingest(Args& args);
int run_history(Args& args);
int run_sse(Args& args);
int run_poll(Args& args);
int run_resolve(Args& args);
int run_opens(Args& args);
int run_jwts(Args& args);
int run_mqtt(Args& args);
int run_failover(Args& args);
void ingest_usage();
void history_usage();
void sse_usage();
void poll_usage();
void resolve_usage();
void opens_usage();
void jwts_usage();
void mqtt_usage();
void failover_usage();

}  // namespace tagstream_bench
