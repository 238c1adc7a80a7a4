// Compiled only by the layering tests (tests/CMakeLists.txt), once per
// forbidden edge, with the include flags of the layer that must not see the
// header: WRONG_WAY_HEADER is what that layer tries to include.
#include WRONG_WAY_HEADER
