#pragma once
// The few primitives auth needs from OpenSSL, in one place.
#include <string>
#include <string_view>

namespace tagstream {

/// Lower-case hex of SHA-256(data).
std::string sha256_hex(std::string_view data);
/// `n` bytes from the system's CSPRNG; throws when it has none.
std::string random_bytes(std::size_t n);
/// RFC 4648 §5, without padding.
std::string base64url(std::string_view bytes);
/// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tagstream
