#include "connect/connector_set.h"

#include <cmath>

namespace tagstream {

namespace {

std::string number_text(double v) {
  std::string s = std::to_string(v);
  // std::to_string gives six decimals; drop the zeros an operator did not type.
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

std::optional<std::string> setpoint_range_error(const WritableTag& tag, double value) {
  if (!std::isfinite(value)) return "the value must be a finite number";
  if (tag.boolean && value != 0 && value != 1) return "the tag is boolean: write 0 or 1 (false or true)";
  if (tag.limits.min && value < *tag.limits.min)
    return "below the tag's minimum " + number_text(*tag.limits.min);
  if (tag.limits.max && value > *tag.limits.max)
    return "above the tag's maximum " + number_text(*tag.limits.max);
  return std::nullopt;
}

ConnectorSet::ConnectorSet(const std::vector<ConnectorSpec>& specs, const ConnectorContext& context) {
  connectors_.reserve(specs.size());
  for (const auto& spec : specs) connectors_.push_back(spec.make(context));
}

ConnectorSet::~ConnectorSet() {
  stop();
}

void ConnectorSet::start() {
  for (auto& c : connectors_) c->start();
}

void ConnectorSet::stop() {
  for (auto& c : connectors_) c->stop();
}

Connector* ConnectorSet::find(std::string_view name) const {
  for (const auto& c : connectors_)
    if (c->name() == name) return c.get();
  return nullptr;
}

std::vector<ConnectorStatus> ConnectorSet::status() const {
  std::vector<ConnectorStatus> out;
  out.reserve(connectors_.size());
  for (const auto& c : connectors_) out.push_back(c->status());
  return out;
}

std::optional<WritableTag> ConnectorSet::writable(std::string_view tag) const {
  for (const auto& c : connectors_)
    if (auto w = c->writable(tag)) return w;
  return std::nullopt;
}

void ConnectorSet::write(SetpointWrite request, WriteDone done) {
  for (const auto& c : connectors_) {
    auto w = c->writable(request.tag);
    if (!w) continue;
    if (auto e = setpoint_range_error(*w, request.value)) {
      done({.outcome = SetpointOutcome::out_of_range, .message = *e, .readback = std::nullopt});
      return;
    }
    c->write(std::move(request), std::move(done));
    return;
  }
  done({.outcome = SetpointOutcome::not_writable,
        .message = "no connector writes this tag: mark it writable in the connector's configuration",
        .readback = std::nullopt});
}

}  // namespace tagstream
