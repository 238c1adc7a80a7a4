#pragma once
// The result of parsing untrusted input: a value, or what is wrong with the
// input. Header-only and free of dependencies so that every layer, the client
// included, shares one shape instead of a struct per parser.
#include <optional>
#include <string>
#include <utility>

namespace tagstream {

/// A parsed `T`, or an `Error` saying why there is none. `error` is meaningful
/// only when `value` is empty. An aggregate rather than std::expected (C++23):
/// a parser fills in `error` and returns at the first problem, or sets `value`
/// at the end. A value type, safe to move between threads like any other.
template <class T, class Error = std::string>
struct [[nodiscard]] Parsed {
  std::optional<T> value;
  Error error;

  explicit operator bool() const noexcept { return value.has_value(); }
  const T& operator*() const& { return *value; }
  T& operator*() & { return *value; }
  T&& operator*() && { return *std::move(value); }
  const T* operator->() const { return &*value; }
  T* operator->() { return &*value; }
};

}  // namespace tagstream
