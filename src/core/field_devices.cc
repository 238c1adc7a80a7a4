#include "core/field_devices.h"

namespace tagstream {

std::string_view to_string(SetpointOutcome outcome) {
  switch (outcome) {
    case SetpointOutcome::accepted: return "accepted";
    case SetpointOutcome::refused: return "refused";
    case SetpointOutcome::timeout: return "timeout";
    case SetpointOutcome::unavailable: return "unavailable";
    case SetpointOutcome::not_writable: return "not_writable";
    case SetpointOutcome::out_of_range: return "out_of_range";
  }
  return "unknown";
}

}  // namespace tagstream
