// SseParser (the watch client's text/event-stream parser) on any stream, fed
// two ways: whole, and in pieces of a size the input picks (1 byte included).
// The input is one header byte then the stream:
//   byte 0  bits 0-5: piece size 1..64; bits 6-7: the event size bound,
//           64 bytes, 4 KiB, 256 KiB or the default 16 MiB
// Invariants: how the bytes are split never changes the events, the last
// event id, the retry, the comment count or whether the bound was hit (a
// server's writes are split arbitrarily by TCP); no event is larger than the
// bound; an event's type, data and id hold no CR or LF, its id no NUL; a
// parser that hit the bound refuses everything until reset_stream().
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/sse_parser.h"
#include "fuzz_check.h"

namespace {

using namespace tagstream;

struct Outcome {
  std::vector<SseEvent> events;
  bool ok = true;
  std::string last_event_id;
  std::optional<int> retry_ms;
  std::size_t comments = 0;
};

bool same_events(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].id != b[i].id ||
        a[i].has_id_field != b[i].has_id_field) {
      return false;
    }
  }
  return true;
}

Outcome parse(std::string_view stream, std::size_t piece, std::size_t max_event_bytes) {
  SseParser parser(max_event_bytes);
  Outcome out;
  const auto on_event = [&](const SseEvent& e) {
    FUZZ_CHECK(!e.type.empty());
    FUZZ_CHECK(e.data.size() <= max_event_bytes);
    FUZZ_CHECK(e.type.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(e.data.find('\r') == std::string::npos);  // data lines are joined with LF alone
    FUZZ_CHECK(e.id.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(e.id.find('\0') == std::string::npos);
    out.events.push_back(e);
  };
  while (!stream.empty()) {
    const std::string_view bytes = stream.substr(0, piece);
    stream.remove_prefix(bytes.size());
    if (!parser.feed(bytes, on_event)) {
      out.ok = false;
      FUZZ_CHECK(!parser.error().empty());
      FUZZ_CHECK(!parser.feed("\n\n", on_event));
      break;
    }
  }
  out.last_event_id = parser.last_event_id();
  out.retry_ms = parser.retry_ms();
  out.comments = parser.comments();
  if (out.retry_ms) FUZZ_CHECK(*out.retry_ms >= 0);
  parser.reset_stream();
  FUZZ_CHECK(parser.error().empty());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::size_t kBounds[] = {64, 4096, 256 * 1024, 16 * 1024 * 1024};
  const std::size_t piece = (data[0] & 0x3f) + 1;
  const std::size_t bound = kBounds[data[0] >> 6];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  const Outcome whole = parse(stream, std::max<std::size_t>(stream.size(), 1), bound);
  const Outcome pieces = parse(stream, piece, bound);
  FUZZ_CHECK(same_events(whole.events, pieces.events));
  FUZZ_CHECK(whole.ok == pieces.ok);
  if (whole.ok) {
    FUZZ_CHECK(whole.last_event_id == pieces.last_event_id);
    FUZZ_CHECK(whole.retry_ms == pieces.retry_ms);
    FUZZ_CHECK(whole.comments == pieces.comments);
  }
  return 0;
}
